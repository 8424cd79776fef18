import { describe, expect, it } from 'vitest';
import { simScript } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { appliedWithCli } from '../support/cli-sim-cluster.ts';

const t = simFleetPerTest();

describe('kubeha etcd restore', () => {
  it('GIVEN a deployed cluster THEN etcd restore needs --snapshot, refuses an unknown one naming it, and restores a kept one', async () => {
    const { kubeha, executions } = await appliedWithCli(t, {
      name: 'ops-e',
      controlPlanes: 3,
      workers: 1,
      script: simScript({ default: 5 }, (step) =>
        step.kind === 'etcd-snapshot'
          ? { snapshot: { bytes: Buffer.alloc(70_000, 7), chunkBytes: 32 * 1024 } }
          : undefined,
      ),
    });

    const bare = await kubeha(['etcd', 'restore', 'ops-e', '--yes']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('etcd restore needs --snapshot ID');

    const unknown = await kubeha(['etcd', 'restore', 'ops-e', '--snapshot', 'nope-1', '--yes']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('cluster ops-e has no etcd snapshot nope-1');

    expect((await kubeha(['etcd', 'snapshot', 'ops-e'])).code).toBe(0);
    const [snapshot] = JSON.parse((await kubeha(['etcd', 'snapshots', 'ops-e', '-o', 'json'])).stdout) as {
      id: string;
    }[];
    const restored = await kubeha(['etcd', 'restore', 'ops-e', '--snapshot', snapshot!.id, '--yes']);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(restored.stdout.split('\n')[0]).toMatch(/^etcd-restore run run-\S+ of ops-e started$/);
    const ran = executions.filter((e) => e.kind.startsWith('etcd-restore'));
    expect(ran.find((e) => e.stepId === 'etcd-restore-stop/cp1')!.params).toMatchObject({ refuseWithQuorum: true });
    expect(ran.find((e) => e.stepId === 'etcd-restore/cp1')!.params).toMatchObject({ snapshotId: snapshot!.id });
  }, 120_000);
});
