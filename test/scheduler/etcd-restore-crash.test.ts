import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crashWhenRunReaches, startCoordinatorProcessWithFleet } from '../sim/coordinator-process.ts';
import { waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript } from '../sim/sim-fleet.ts';
import { cleanupsAfterEach } from '../support/cleanups.ts';

const cleanups = cleanupsAfterEach();

describe('an etcd restore across a coordinator crash', () => {
  it('GIVEN a kept snapshot WHEN the coordinator is SIGKILLed once cp2 has joined THEN the restarted one finishes the restore, each step done once, the snapshot sent whole to cp1 only', async () => {
    const bytes = randomBytes(300_000);
    const fleet = await startCoordinatorProcessWithFleet({
      prefix: 'kubeha-restore-crash-',
      cleanups,
      name: 'restore',
      controlPlanes: 3,
      workers: 1,
      script: simScript({ default: 30, 'etcd-restore-member': 300 }, (step) =>
        step.kind === 'etcd-snapshot' ? { snapshot: { bytes, chunkBytes: 64 * 1024 } } : undefined,
      ),
    });
    const { spec, executions, agents } = fleet;
    let { coordinator } = fleet;
    await coordinator.api.request('POST', '/v1/clusters', spec);
    const deploy = await coordinator.api.request<{ id: string }>('POST', '/v1/clusters/restore/runs', {
      kind: 'deploy',
    });
    expect((await waitForRunEnd(coordinator.api, deploy.id, 120_000)).state).toBe('succeeded');
    const snap = await coordinator.api.request<{ id: string }>('POST', '/v1/clusters/restore/runs', {
      kind: 'etcd-snapshot',
    });
    expect((await waitForRunEnd(coordinator.api, snap.id, 60_000)).state).toBe('succeeded');
    const { snapshots } = await coordinator.api.request<{ snapshots: { id: string; sha256: string }[] }>(
      'GET',
      '/v1/clusters/restore/etcd-snapshots',
    );
    const snapshot = snapshots[0]!;

    const { id } = await coordinator.api.request<{ id: string }>('POST', '/v1/clusters/restore/runs', {
      kind: 'etcd-restore',
      snapshot: snapshot.id,
    });
    coordinator = await crashWhenRunReaches(
      coordinator,
      id,
      'cp2 joined',
      (run) =>
        run.steps.some((s) => s.id === 'etcd-restore-join/cp2' && s.state === 'succeeded') || run.state !== 'running',
    );

    const ended = await waitForRunEnd(coordinator.api, id, 120_000);
    expect(ended.state, JSON.stringify(ended.steps.filter((s) => s.error))).toBe('succeeded');
    const ran = executions.filter((e) => e.runId === id && !e.dryRun);
    const nodesOf = (stepId: string) => [...new Set(ran.filter((e) => e.stepId === stepId).map((e) => e.node))];
    expect(nodesOf('etcd-restore/cp1')).toEqual(['cp1']);
    expect(nodesOf('etcd-restore-add/cp3')).toEqual(['cp1']);
    expect(nodesOf('etcd-restore-join/cp3')).toEqual(['cp3']);
    expect(ran.filter((e) => e.stepId === 'etcd-restore/cp1')).toHaveLength(1);
    for (const node of ['cp1', 'cp2', 'cp3']) expect(nodesOf(`etcd-restore-start/${node}`)).toEqual([node]);
    const received = agents.flatMap((a) => a.snapshotsReceived.map((r) => ({ node: a.options.node, ...r })));
    expect(received).toEqual([
      {
        node: 'cp1',
        snapshotId: snapshot.id,
        stepId: 'etcd-restore/cp1',
        bytes: bytes.length,
        size: bytes.length,
        sha256: snapshot.sha256,
      },
    ]);
  }, 240_000);
});
