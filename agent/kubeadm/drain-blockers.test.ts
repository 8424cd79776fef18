import { describe, expect, it } from 'vitest';
import {
  describeDrainBlockers,
  type PodDisruptionBudgetJson,
  type PodJson,
  podsDrainEvicts,
  selectorMatches,
} from './drain-blockers.ts';

const pod = (name: string, extra: Partial<PodJson['metadata']> = {}): PodJson => ({
  metadata: {
    namespace: 'shop',
    name,
    labels: { app: 'web' },
    ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d9', controller: true }],
    ...extra,
  },
});
const budget = (allowed: number, selector: PodDisruptionBudgetJson['spec'] = {}): PodDisruptionBudgetJson => ({
  metadata: { namespace: 'shop', name: 'web' },
  spec: { selector: { matchLabels: { app: 'web' } }, minAvailable: 2, ...selector },
  status: { disruptionsAllowed: allowed, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 },
});

describe('podsDrainEvicts', () => {
  it('GIVEN a node running a Deployment pod, a DaemonSet pod and a mirror pod WHEN listed THEN only the first is evicted', () => {
    const pods = [
      pod('web-1'),
      pod('kube-flannel-ds-x', { ownerReferences: [{ kind: 'DaemonSet', name: 'flannel', controller: true }] }),
      pod('kube-apiserver-cp1', {
        annotations: { 'kubernetes.io/config.mirror': 'abc' },
        ownerReferences: [{ kind: 'Node', name: 'cp1', controller: true }],
      }),
    ];
    expect(podsDrainEvicts(pods).map((p) => p.metadata.name)).toEqual(['web-1']);
  });
});

describe('selectorMatches', () => {
  it.each([
    [null, { app: 'web' }, false],
    [{}, { app: 'web' }, true],
    [{ matchLabels: { app: 'web' } }, { app: 'web', tier: 'a' }, true],
    [{ matchLabels: { app: 'db' } }, { app: 'web' }, false],
    [{ matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['db', 'web'] }] }, { app: 'web' }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'NotIn' as const, values: ['web'] }] }, { app: 'web' }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'Exists' as const }] }, { app: 'web' }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' as const }] }, { app: 'web' }, true],
  ])('GIVEN selector %j and labels %j THEN %s', (selector, labels, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});

describe('describeDrainBlockers', () => {
  it('GIVEN pods left behind a budget that allows no disruption WHEN described THEN each pod names the budget', () => {
    expect(describeDrainBlockers([pod('web-1'), pod('web-2')], [budget(0)])).toEqual([
      'shop/web-1 (PodDisruptionBudget shop/web allows 0 disruptions (minAvailable 2; 2 healthy, 2 needed))',
      'shop/web-2 (PodDisruptionBudget shop/web allows 0 disruptions (minAvailable 2; 2 healthy, 2 needed))',
    ]);
  });

  it('GIVEN a budget that still allows a disruption, or one in another namespace WHEN described THEN it is not blamed', () => {
    const elsewhere = { ...budget(0), metadata: { namespace: 'other', name: 'web' } };
    expect(describeDrainBlockers([pod('web-1')], [budget(1), elsewhere])).toEqual(['shop/web-1']);
  });

  it('GIVEN a pod without a controller, and a terminating one WHEN described THEN the reason is said', () => {
    const bare = pod('debug', { ownerReferences: [], labels: {} });
    const terminating = pod('web-3', { deletionTimestamp: '2026-12-02T22:00:00Z' });
    expect(describeDrainBlockers([bare, terminating], [])).toEqual([
      'shop/debug (no controller: drain deletes such a pod only with --force)',
      'shop/web-3 (terminating since 2026-12-02T22:00:00Z)',
    ]);
  });
});
