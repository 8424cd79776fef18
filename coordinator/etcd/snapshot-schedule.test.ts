import { describe, expect, it } from 'vitest';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import { requireClusterSpec } from '../cluster-spec/parse-cluster-spec.ts';
import type { RunKind } from '../plan/run-plan.ts';
import type { ClusterRecord, RunRecord } from '../store/store.ts';
import { SnapshotSchedule } from './snapshot-schedule.ts';
import type { SnapshotRecord } from './snapshot-store.ts';

const hour = 3_600_000;
const start = Date.UTC(2026, 11, 3, 0, 0, 0);

function cluster(name: string, etcd: unknown, initializedAt: number | null = 1): ClusterRecord {
  const spec = requireClusterSpec({
    apiVersion: 'kubeha.io/v1',
    kind: 'Cluster',
    metadata: { name },
    spec: {
      kubernetesVersion: '1.34.4',
      endpoint: { vip: '10.0.0.100', interface: 'eth0' },
      nodes: [{ name: 'cp1', address: '10.0.0.11', role: 'control-plane' }],
      ...(etcd === undefined ? {} : { etcd }),
    },
  });
  return { name, spec, appliedSpec: spec, appliedAt: 1, createdAt: 1, updatedAt: 1, initializedAt };
}

/** A fake clock, the clusters, their runs and snapshots, and a run starter that records what it was asked. */
function world(clusters: ClusterRecord[]) {
  const state = {
    now: start,
    runs: [] as RunRecord[],
    snapshots: [] as SnapshotRecord[],
    busy: new Map<string, string>(),
    refuse: undefined as string | undefined,
    started: [] as { cluster: string; reason: string }[],
  };
  const schedule = new SnapshotSchedule({
    store: {
      clusters: { list: () => clusters } as never,
      runs: { list: (name?: string) => state.runs.filter((r) => r.cluster === name) } as never,
    },
    snapshots: {
      list: (name) => state.snapshots.filter((s) => s.cluster === name).sort((a, b) => b.takenAtMs - a.takenAtMs),
    },
    runs: {
      activeRunOf: (name) => state.busy.get(name),
      startRun(name: string, kind: RunKind, options: { startedBecause: string }) {
        if (state.refuse) throw new KubehaError(ErrorCode.conflict, state.refuse);
        const run: RunRecord = {
          id: `run-${state.runs.length + 1}`,
          cluster: name,
          kind,
          state: 'running',
          createdAt: state.now,
          finishedAt: null,
          error: null,
        };
        state.runs.push(run);
        state.started.push({ cluster: name, reason: options.startedBecause });
        return run;
      },
    },
    logger: createLogger({ name: 'test', level: 'silent' }),
    now: () => state.now,
  });
  const snapshotAt = (name: string, takenAtMs: number) =>
    state.snapshots.push({
      cluster: name,
      id: `s-${takenAtMs}`,
      node: 'cp1',
      takenAtMs,
      sizeBytes: 1,
      sha256: '0'.repeat(64),
      revision: 1,
      totalKeys: 1,
      hash: 1,
      runId: null,
    });
  return { state, schedule, snapshotAt };
}

describe('SnapshotSchedule', () => {
  it('GIVEN every 6h and a snapshot 5h ago WHEN the clock passes 6h THEN one run starts, then none until 6h later', () => {
    const { state, schedule, snapshotAt } = world([cluster('prod', { snapshots: { every: '6h', keep: 3 } })]);
    snapshotAt('prod', start - 5 * hour);

    expect(schedule.tick()).toEqual([]);
    state.now = start + hour;
    expect(schedule.tick()).toEqual(['run-1']);
    expect(state.started).toEqual([{ cluster: 'prod', reason: 'scheduled (every 6h, keep 3)' }]);
    state.now += 5 * hour + 59 * 60_000;
    expect(schedule.tick()).toEqual([]);
    // Looked at a minute later, a few milliseconds short of 6 h after the last run started: due all the same.
    state.now += 60_000 - 20;
    expect(schedule.tick()).toEqual(['run-2']);
  });

  it('GIVEN a snapshot due while another run of the cluster is active WHEN that run ends THEN it starts, saying it waited and for which', () => {
    const { state, schedule } = world([cluster('prod', { snapshots: { every: '1d' } })]);
    state.busy.set('prod', 'run-deploy');

    expect(schedule.tick()).toEqual([]);
    state.now += 30 * 60_000;
    expect(schedule.tick()).toEqual([]);
    state.busy.delete('prod');
    state.now += 60_000;

    expect(schedule.tick()).toEqual(['run-1']);
    expect(state.started[0]!.reason).toBe(
      'scheduled (every 1d, keep 14); due since 2026-12-03T00:00:00.000Z, waited for run run-deploy to end',
    );
  });

  it('GIVEN no schedule, or a cluster never deployed WHEN ticked THEN nothing starts', () => {
    const { schedule } = world([cluster('plain', undefined), cluster('fresh', { snapshots: { every: '30m' } }, null)]);
    expect(schedule.tick()).toEqual([]);
  });

  it('GIVEN the run is refused (no healthy member) WHEN ticked again THEN it is tried after 10 minutes, not at every tick', () => {
    const { state, schedule } = world([cluster('prod', { snapshots: { every: '6h' } })]);
    state.refuse = 'no etcd member of cluster prod has a connected, healthy agent (cp1)';

    expect(schedule.tick()).toEqual([]);
    state.now += 9 * 60_000;
    expect(schedule.tick()).toEqual([]);
    state.refuse = undefined;
    state.now += 60_000;
    expect(schedule.tick()).toEqual(['run-1']);
  });
});
