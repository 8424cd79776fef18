/**
 * What `kubectl drain --ignore-daemonsets --delete-emptydir-data` (without --force) does with the pods of a node, and
 * why the ones still there after it failed are there: pure, so every case is a table test.
 */

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface PodJson {
  metadata: {
    namespace?: string;
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
    deletionTimestamp?: string;
  };
  status?: { phase?: string };
}

export interface PodDisruptionBudgetJson {
  metadata: { namespace?: string; name: string };
  spec?: { selector?: LabelSelector | null; minAvailable?: number | string; maxUnavailable?: number | string };
  status?: { disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number; expectedPods?: number };
}

const mirrorAnnotation = 'kubernetes.io/config.mirror';

function controllerOf(pod: PodJson) {
  return pod.metadata.ownerReferences?.find((o) => o.controller === true);
}

/** The pods drain evicts: all but DaemonSet pods (--ignore-daemonsets) and mirror pods of static pods. */
export function podsDrainEvicts(pods: readonly PodJson[]): PodJson[] {
  return pods.filter(
    (p) => controllerOf(p)?.kind !== 'DaemonSet' && p.metadata.annotations?.[mirrorAnnotation] === undefined,
  );
}

export function podName(pod: { metadata: { namespace?: string; name: string } }): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
}

/** metav1.LabelSelector semantics: a null selector matches nothing, an empty one everything. */
export function selectorMatches(selector: LabelSelector | null | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, r.key);
    const inValues = has && (r.values ?? []).includes(labels[r.key]!);
    const ok =
      r.operator === 'In'
        ? inValues
        : r.operator === 'NotIn'
          ? !inValues
          : r.operator === 'Exists'
            ? has
            : r.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

function describeBudget(pdb: PodDisruptionBudgetJson): string {
  const s = pdb.status ?? {};
  const rule =
    pdb.spec?.minAvailable !== undefined
      ? `minAvailable ${pdb.spec.minAvailable}`
      : pdb.spec?.maxUnavailable !== undefined
        ? `maxUnavailable ${pdb.spec.maxUnavailable}`
        : 'no rule';
  return (
    `PodDisruptionBudget ${podName(pdb)} allows ${s.disruptionsAllowed ?? 0} disruptions ` +
    `(${rule}; ${s.currentHealthy ?? 0} healthy, ${s.desiredHealthy ?? 0} needed)`
  );
}

/**
 * Each pod drain should have removed but did not, with the reason in words: the PodDisruptionBudgets that allow it no
 * disruption, a pod without a controller (drain deletes those only with --force), or a pod still terminating.
 */
export function describeDrainBlockers(
  remaining: readonly PodJson[],
  budgets: readonly PodDisruptionBudgetJson[],
): string[] {
  return podsDrainEvicts(remaining).map((pod) => {
    const reasons: string[] = [];
    const blocking = budgets.filter(
      (b) =>
        (b.metadata.namespace ?? 'default') === (pod.metadata.namespace ?? 'default') &&
        selectorMatches(b.spec?.selector, pod.metadata.labels ?? {}) &&
        (b.status?.disruptionsAllowed ?? 0) < 1,
    );
    reasons.push(...blocking.map(describeBudget));
    if (!controllerOf(pod)) reasons.push('no controller: drain deletes such a pod only with --force');
    if (pod.metadata.deletionTimestamp) reasons.push(`terminating since ${pod.metadata.deletionTimestamp}`);
    return reasons.length > 0 ? `${podName(pod)} (${reasons.join('; ')})` : podName(pod);
  });
}
