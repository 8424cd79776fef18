import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';

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

/**
 * Fields a running cluster cannot take from a re-apply: kubeadm fixes them at init (version upgrades, the endpoint,
 * the networks), and adding or removing nodes needs steps the deploy plan does not have.
 */
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
 * was `applied` (null when none succeeded yet); empty when it can.
 */
export function unsupportedChanges(applied: ClusterSpec | null, desired: ClusterSpec, members: string[]): string[] {
  const problems: string[] = [];
  const desiredNodes = new Map(desired.spec.nodes.map((n) => [n.name, n]));
  const removed = members.filter((m) => !desiredNodes.has(m));
  if (removed.length > 0) {
    problems.push(
      `node(s) ${removed.join(', ')} are members of the cluster but not in the spec: removing nodes is not supported yet (run reset to take the whole cluster down)`,
    );
  }
  if (applied === null) return problems;
  const appliedNames = new Set(applied.spec.nodes.map((n) => n.name));
  const added = desired.spec.nodes.filter((n) => !appliedNames.has(n.name)).map((n) => n.name);
  if (added.length > 0) {
    problems.push(
      `node(s) ${added.join(', ')} are not in the applied spec: adding nodes to a deployed cluster is not supported yet`,
    );
  }
  const gone = applied.spec.nodes.filter((n) => !desiredNodes.has(n.name) && !removed.includes(n.name));
  if (gone.length > 0) {
    problems.push(
      `node(s) ${gone.map((n) => n.name).join(', ')} are in the applied spec but not in this one: removing nodes is not supported yet`,
    );
  }
  for (const node of applied.spec.nodes) {
    const now = desiredNodes.get(node.name);
    if (!now) continue;
    for (const field of ['address', 'role'] as const) {
      if (now[field] !== node[field]) {
        problems.push(
          `spec.nodes[${node.name}].${field}: ${node[field]} -> ${now[field]} cannot change on a deployed node`,
        );
      }
    }
  }
  for (const d of specDifferences(applied, desired)) {
    if (fixedAtInit.includes(d.path)) {
      problems.push(
        `${d.path}: ${JSON.stringify(d.applied)} -> ${JSON.stringify(d.desired)} cannot change on a deployed cluster`,
      );
    }
  }
  return problems;
}
