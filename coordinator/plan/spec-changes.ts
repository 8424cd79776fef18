import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { removalRefusals } from './plan-node-removal.ts';

/** One field that differs between the applied and the desired spec; undefined where a side lacks it. */
export interface SpecDifference {
  path: string;
  applied: unknown;
  desired: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Nodes are compared by name, so that a reordered list or an added node reads as what it is. */
function walk(path: string, applied: unknown, desired: unknown, into: SpecDifference[]): void {
  if (path === 'spec.nodes' && Array.isArray(applied) && Array.isArray(desired)) {
    const byName = (list: unknown[]) =>
      new Map(list.filter(isObject).map((n) => [String(n['name']), n] as [string, Record<string, unknown>]));
    const a = byName(applied);
    const d = byName(desired);
    for (const name of new Set([...a.keys(), ...d.keys()])) walk(`spec.nodes[${name}]`, a.get(name), d.get(name), into);
    return;
  }
  if (isObject(applied) && isObject(desired)) {
    for (const key of new Set([...Object.keys(applied), ...Object.keys(desired)])) {
      walk(path ? `${path}.${key}` : key, applied[key], desired[key], into);
    }
    return;
  }
  if (JSON.stringify(applied) !== JSON.stringify(desired)) into.push({ path, applied, desired });
}

/** Every field that differs, nodes keyed by name ("spec.nodes[w3]"). */
export function specDifferences(applied: ClusterSpec, desired: ClusterSpec): SpecDifference[] {
  const differences: SpecDifference[] = [];
  walk('', applied, desired, differences);
  return differences;
}

/** Fields a running cluster cannot take from a re-apply: kubeadm fixes them at init (version upgrades, the endpoint, the networks). */
const fixedAtInit = [
  'spec.kubernetesVersion',
  'spec.endpoint.mode',
  'spec.endpoint.vip',
  'spec.endpoint.port',
  'spec.networking.podCIDR',
  'spec.networking.serviceCIDR',
  'spec.networking.cni',
];

/**
 * Why a deploy of `desired` cannot run on a cluster whose members are `members` and whose last successful deploy
 * was `applied` (null when none succeeded yet), with `dead` the nodes marked gone for good; empty when it can.
 * Nodes added and removed are changes a deploy makes; the removals it refuses are removalRefusals'.
 */
export function unsupportedChanges(
  applied: ClusterSpec | null,
  desired: ClusterSpec,
  members: string[],
  dead: readonly string[] = [],
): string[] {
  const problems = removalRefusals({ members, applied, dead }, desired);
  if (applied === null) return problems;
  for (const d of specDifferences(applied, desired)) {
    if (fixedAtInit.includes(d.path)) {
      problems.push(
        `${d.path}: ${JSON.stringify(d.applied)} -> ${JSON.stringify(d.desired)} cannot change on a deployed cluster`,
      );
    }
  }
  return problems;
}
