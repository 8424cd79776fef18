import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireClusterSpec } from '../cluster-spec/parse-cluster-spec.ts';
import { planRun } from './plan-run.ts';

const spec = requireClusterSpec(
  readFileSync(join(import.meta.dirname, '../../test/fixtures/specs-valid/design-example.yaml'), 'utf8'),
);
const all = spec.spec.nodes.map((n) => n.name);
const snapshotId = '20260101-000000-0a1b';

describe('planRun etcd-snapshot', () => {
  it('GIVEN every node a member and well WHEN planned THEN one step on the first control plane, with the run id', () => {
    const plan = planRun('etcd-snapshot', spec, { members: all, snapshotId });
    expect(plan.steps).toEqual([
      expect.objectContaining({
        id: 'etcd-snapshot/k8s-master1',
        kind: 'etcd-snapshot',
        runsOn: 'agent',
        node: 'k8s-master1',
        dependsOn: [],
        params: { snapshotId },
      }),
    ]);
  });

  it.each([
    ['the first control plane is not a member', { members: ['k8s-master2', 'k8s-master3'] }, 'k8s-master2'],
    ['its agent is away', { members: all, healthy: ['k8s-master3', 'k8s-worker1'] }, 'k8s-master3'],
  ])('GIVEN %s WHEN planned THEN the next healthy member takes it', (_what, state, node) => {
    expect(planRun('etcd-snapshot', spec, { ...state, snapshotId }).steps.map((s) => s.node)).toEqual([node]);
  });

  it('GIVEN no member or no healthy member WHEN planned THEN refused, saying which', () => {
    expect(() => planRun('etcd-snapshot', spec, { members: [], snapshotId })).toThrow(
      'cluster prod-a has no etcd member yet: deploy it first',
    );
    expect(() => planRun('etcd-snapshot', spec, { members: all, healthy: ['k8s-worker1'], snapshotId })).toThrow(
      /no etcd member of cluster prod-a has a connected, healthy agent \(k8s-master1, k8s-master2, k8s-master3\)/,
    );
  });
});
