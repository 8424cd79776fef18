import { isKubehaError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { snapshotIntervalMs } from '../cluster-spec/cluster-spec.ts';
import type { RunKind } from '../plan/run-plan.ts';
import type { RunRecord, Store } from '../store/store.ts';
import type { SnapshotStore } from './snapshot-store.ts';

/** The part of the scheduler the schedule uses. */
export interface SnapshotRunStarter {
  activeRunOf(cluster: string): string | undefined;
  startRun(cluster: string, kind: RunKind, options: { startedBecause: string }): RunRecord;
}

/** A scheduled snapshot that could not start (no healthy member) is tried again this soon, or at its interval. */
const retryAfterRefusalMs = 10 * 60_000;
/** A run due this little later starts now: the schedule is looked at once a minute, and a run takes a moment to start. */
const earlyMs = 5_000;

interface Waiting {
  dueSinceMs: number;
  behindRun: string | undefined;
}

/**
 * Starts an etcd-snapshot run for each initialized cluster whose spec has `etcd.snapshots` once `every` has passed
 * since its last etcd-snapshot run started (taken or not), or with none since its newest snapshot. A cluster with a run in progress waits:
 * the snapshot run starts when that run ends, and its first event says it waited and for which run.
 */
export class SnapshotSchedule {
  private readonly store: Pick<Store, 'clusters' | 'runs'>;
  private readonly snapshots: Pick<SnapshotStore, 'list'>;
  private readonly runs: SnapshotRunStarter;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly waiting = new Map<string, Waiting>();
  private readonly refusedAt = new Map<string, number>();

  constructor(deps: {
    store: Pick<Store, 'clusters' | 'runs'>;
    snapshots: Pick<SnapshotStore, 'list'>;
    runs: SnapshotRunStarter;
    logger: Logger;
    now: () => number;
  }) {
    this.store = deps.store;
    this.snapshots = deps.snapshots;
    this.runs = deps.runs;
    this.logger = deps.logger;
    this.now = deps.now;
  }

  /** Starts the runs that are due; returns their ids. */
  tick(): string[] {
    const started: string[] = [];
    const now = this.now();
    for (const cluster of this.store.clusters.list()) {
      const schedule = cluster.spec.spec.etcd?.snapshots;
      if (!schedule || cluster.initializedAt === null) {
        this.waiting.delete(cluster.name);
        continue;
      }
      const every = snapshotIntervalMs(schedule.every);
      const dueAt = this.lastSnapshotOrRun(cluster.name) + every;
      const refused = this.refusedAt.get(cluster.name);
      if (now + earlyMs < dueAt || (refused !== undefined && now < refused + Math.min(every, retryAfterRefusalMs)))
        continue;
      const busy = this.runs.activeRunOf(cluster.name);
      const waiting = this.waiting.get(cluster.name) ?? { dueSinceMs: now, behindRun: undefined };
      if (busy) {
        if (waiting.behindRun !== busy) {
          this.logger.info(
            { cluster: cluster.name, runId: busy },
            'etcd snapshot due; it waits for the run in progress',
          );
        }
        this.waiting.set(cluster.name, { ...waiting, behindRun: busy });
        continue;
      }
      const reason = `scheduled (every ${schedule.every}, keep ${schedule.keep})${
        waiting.behindRun
          ? `; due since ${new Date(waiting.dueSinceMs).toISOString()}, waited for run ${waiting.behindRun} to end`
          : ''
      }`;
      this.waiting.delete(cluster.name);
      try {
        const run = this.runs.startRun(cluster.name, 'etcd-snapshot', { startedBecause: reason });
        this.refusedAt.delete(cluster.name);
        started.push(run.id);
        this.logger.info({ cluster: cluster.name, runId: run.id }, 'scheduled etcd snapshot started');
      } catch (error) {
        this.refusedAt.set(cluster.name, now);
        this.logger.warn(
          { cluster: cluster.name, err: isKubehaError(error) ? undefined : error },
          `scheduled etcd snapshot not started: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    return started;
  }

  /**
   * When the cluster's last etcd-snapshot run started (taken or not, so that a failing one is not repeated at every
   * look); without one, when its newest snapshot was taken; 0: never.
   */
  private lastSnapshotOrRun(cluster: string): number {
    const lastRun = this.store.runs
      .list(cluster)
      .filter((r) => r.kind === 'etcd-snapshot')
      .reduce((latest, r) => Math.max(latest, r.createdAt), 0);
    return lastRun > 0 ? lastRun : (this.snapshots.list(cluster)[0]?.takenAtMs ?? 0);
  }
}
