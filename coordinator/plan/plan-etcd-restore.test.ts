import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireClusterSpec } from '../cluster-spec/parse-cluster-spec.ts';
import { planRun } from './plan-run.ts';
import type { EtcdRestoreState } from './run-plan.ts';

const spec = requireClusterSpec(
  readFileSync(join(import.meta.dirname, '../../test/fixtures/specs-valid/design-example.yaml'), 'utf8'),
);
const all = spec.spec.nodes.map((n) => n.name);
const restore: EtcdRestoreState = {
  restoreId: 'run-7f3a',
  snapshotId: '20260101-000000-0a1b',
  snapshotSize: 20480,
  snapshotSha256: 'ab'.repeat(32),
  snapshotTakenAt: '2026-01-01T00:00:00.000Z',
  force: false,
};

describe('planRun etcd-restore', () => {
  it('GIVEN three control planes WHEN planned THEN stop, restore on the first, add and join the others one at a time, start, verify', () => {
    const steps = planRun('etcd-restore', spec, { members: all, restore }).steps;
    expect(steps.map((s) => [s.id, s.node, s.dependsOn])).toEqual([
      ['etcd-restore-stop/k8s-master1', 'k8s-master1', []],
      ['etcd-restore-stop/k8s-master2', 'k8s-master2', ['etcd-restore-stop/k8s-master1']],
      ['etcd-restore-stop/k8s-master3', 'k8s-master3', ['etcd-restore-stop/k8s-master1']],
      [
        'etcd-restore/k8s-master1',
        'k8s-master1',
        ['etcd-restore-stop/k8s-master1', 'etcd-restore-stop/k8s-master2', 'etcd-restore-stop/k8s-master3'],
      ],
      ['etcd-restore-add/k8s-master2', 'k8s-master1', ['etcd-restore/k8s-master1']],
      ['etcd-restore-join/k8s-master2', 'k8s-master2', ['etcd-restore-add/k8s-master2']],
      ['etcd-restore-add/k8s-master3', 'k8s-master1', ['etcd-restore-join/k8s-master2']],
      ['etcd-restore-join/k8s-master3', 'k8s-master3', ['etcd-restore-add/k8s-master3']],
      ['etcd-restore-start/k8s-master1', 'k8s-master1', ['etcd-restore-join/k8s-master3']],
      ['etcd-restore-start/k8s-master2', 'k8s-master2', ['etcd-restore-join/k8s-master3']],
      ['etcd-restore-start/k8s-master3', 'k8s-master3', ['etcd-restore-join/k8s-master3']],
      [
        'verify/k8s-master1',
        'k8s-master1',
        ['etcd-restore-start/k8s-master1', 'etcd-restore-start/k8s-master2', 'etcd-restore-start/k8s-master3'],
      ],
    ]);
    const [m1, m2, m3] = ['k8s-master1', 'k8s-master2', 'k8s-master3'].map(
      (name) => spec.spec.nodes.find((n) => n.name === name)!.address,
    );
    expect(steps[0]!.params).toEqual({
      restoreId: 'run-7f3a',
      keepEtcd: true,
      refuseWithQuorum: true,
      snapshotTakenAt: restore.snapshotTakenAt,
      stopTimeoutSeconds: 300,
    });
    expect(steps[0]!.retry.maxAttempts).toBe(1);
    expect(steps[3]!.params).toMatchObject({
      role: 'restore',
      memberName: 'k8s-master1',
      memberPeerUrl: `https://${m1}:2380`,
      snapshotId: restore.snapshotId,
      snapshotSha256: restore.snapshotSha256,
    });
    expect(steps[7]!.params).toMatchObject({
      role: 'join',
      restoredClientUrl: `https://${m1}:2379`,
      initialCluster: `k8s-master1=https://${m1}:2380,k8s-master2=https://${m2}:2380,k8s-master3=https://${m3}:2380`,
    });
  });

  it('GIVEN --force WHEN planned THEN the first stop does not refuse with quorum', () => {
    const steps = planRun('etcd-restore', spec, { members: all, restore: { ...restore, force: true } }).steps;
    expect(steps[0]!.params['refuseWithQuorum']).toBe(false);
  });

  it('GIVEN a control plane whose agent is away WHEN planned THEN refused naming it', () => {
    expect(() =>
      planRun('etcd-restore', spec, { members: all, healthy: ['k8s-master1', 'k8s-master3'], restore }),
    ).toThrow(/the agents of k8s-master2 are not connected and well: a restore needs every control plane/);
  });

  it('GIVEN no member WHEN planned THEN refused', () => {
    expect(() => planRun('etcd-restore', spec, { members: [], restore })).toThrow(
      'cluster prod-a has no control plane that is a member: nothing to restore',
    );
  });
});
