import { ErrorCode } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { StepFailure } from '../../common/step-events.ts';
import type { SnapshotChunk } from '../../proto/convert.ts';
import { maxSnapshotChunkBytes } from '../../proto/step-params/etcd-snapshot-params.ts';
import type { StepRecord } from '../store/store.ts';
import type { SnapshotStore, SnapshotUpload } from './snapshot-store.ts';

/** The etcd-snapshot step a chunk claims to come from, as the scheduler has it in flight. */
export interface SnapshotStepInFlight {
  cluster: string;
  step: StepRecord;
}

/** What becomes of a succeeded etcd-snapshot step: failed (the snapshot is not kept), or notes for the run's events. */
export interface SnapshotSettlement {
  failure?: StepFailure;
  notes: string[];
}

interface Receiving {
  agentId: string;
  upload: SnapshotUpload;
  startedAtMs: number;
}

/** Refusals kept for the steps that have not reported yet; beyond this the oldest is forgotten. */
const maxRefusals = 256;

/**
 * Receives the chunks of the snapshots etcd-snapshot steps send into the SnapshotStore, one chunk written at a time
 * (memory stays bounded by gRPC's flow control), and settles each step when it reports: it succeeds only when its
 * snapshot was kept, and then the cluster's older snapshots are pruned to the spec's `keep`.
 */
export class SnapshotIntake {
  private readonly snapshots: SnapshotStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly stepInFlight: (runId: string, stepId: string) => SnapshotStepInFlight | undefined;
  private readonly keepOf: (cluster: string) => number | undefined;
  private readonly receiving = new Map<string, Receiving>();
  /** Why the snapshot a step sent was not kept, by cluster/snapshot id, until its step reports. */
  private readonly refusals = new Map<string, string>();

  constructor(deps: {
    snapshots: SnapshotStore;
    logger: Logger;
    now: () => number;
    stepInFlight: (runId: string, stepId: string) => SnapshotStepInFlight | undefined;
    /** How many snapshots the cluster's spec keeps (its desired spec, where the schedule is read); none: all. */
    keepOf: (cluster: string) => number | undefined;
  }) {
    this.snapshots = deps.snapshots;
    this.logger = deps.logger;
    this.now = deps.now;
    this.stepInFlight = deps.stepInFlight;
    this.keepOf = deps.keepOf;
  }

  /** A chunk from an agent's session: written if it belongs to the etcd-snapshot step that agent is running. */
  chunk(agentId: string, chunk: SnapshotChunk): void {
    const log = this.logger.child({ agentId, runId: chunk.runId, stepId: chunk.stepId, snapshotId: chunk.snapshotId });
    const owner = this.stepInFlight(chunk.runId, chunk.stepId);
    const step = owner?.step;
    if (
      !owner ||
      !step ||
      step.kind !== 'etcd-snapshot' ||
      step.agentId !== agentId ||
      step.attempt !== chunk.attempt ||
      step.params['snapshotId'] !== chunk.snapshotId
    ) {
      log.warn('snapshot chunk ignored: not from an etcd-snapshot step this agent is running');
      return;
    }
    const key = `${owner.cluster}/${chunk.snapshotId}`;
    try {
      if (chunk.data.length > maxSnapshotChunkBytes) {
        throw new Error(`a chunk of ${chunk.data.length} bytes, more than ${maxSnapshotChunkBytes}`);
      }
      let receiving = this.receiving.get(key);
      if (chunk.offset === 0 && (!receiving || receiving.upload.bytesReceived > 0)) {
        // The first chunk, or the step sending the snapshot again from its start (an agent restarted mid-send).
        receiving?.upload.abort();
        const upload = this.snapshots.beginUpload(owner.cluster, chunk.snapshotId);
        receiving = { agentId, upload, startedAtMs: this.now() };
        this.receiving.set(key, receiving);
        this.refusals.delete(key);
      }
      if (!receiving) {
        throw new Error(`a chunk at offset ${chunk.offset} but no upload in progress (the session was interrupted)`);
      }
      if (chunk.data.length > 0) receiving.upload.write(chunk.offset, chunk.data);
      if (!chunk.last) return;
      this.receiving.delete(key);
      const record = receiving.upload.finish({
        node: step.node,
        takenAtMs: receiving.startedAtMs,
        sizeBytes: chunk.size,
        sha256: chunk.sha256,
        revision: chunk.revision,
        totalKeys: chunk.totalKeys,
        hash: chunk.hash,
        runId: chunk.runId,
      });
      log.info({ sizeBytes: record.sizeBytes, revision: record.revision }, 'etcd snapshot kept');
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.receiving.get(key)?.upload.abort();
      this.receiving.delete(key);
      this.refuse(key, reason);
      log.warn({ reason }, 'etcd snapshot refused');
    }
  }

  /** The agent's session ended: its uploads cannot go on (a new attempt starts again at offset 0). */
  agentDisconnected(agentId: string): void {
    for (const [key, receiving] of [...this.receiving]) {
      if (receiving.agentId !== agentId) continue;
      receiving.upload.abort();
      this.receiving.delete(key);
      this.refuse(key, 'the agent lost its session before the whole snapshot arrived');
    }
  }

  /**
   * A succeeded etcd-snapshot step: it fails if its snapshot was not kept (naming why); otherwise the cluster's
   * snapshots are pruned to the spec's `keep` (none without a schedule) and the notes say what was kept and deleted.
   */
  settle(cluster: string, step: StepRecord): SnapshotSettlement {
    const id = String(step.params['snapshotId']);
    const key = `${cluster}/${id}`;
    const record = this.snapshots.get(cluster, id);
    if (!record) {
      const reason = this.refusals.get(key) ?? 'no snapshot arrived on the agent\u2019s session';
      this.refusals.delete(key);
      return {
        failure: {
          code: ErrorCode.stepFailed,
          message: `etcd snapshot ${id} from ${step.node} was not kept: ${reason}`,
          deterministic: true,
        },
        notes: [],
      };
    }
    const notes = [
      `etcd snapshot ${id} kept: ${record.sizeBytes} bytes, revision ${record.revision}, ${record.totalKeys} keys, sha256 ${record.sha256}`,
    ];
    const keep = this.keepOf(cluster);
    if (keep !== undefined) {
      const pruned = this.snapshots.prune(cluster, keep);
      if (pruned.length > 0) notes.push(`pruned to the newest ${keep}: deleted ${pruned.map((r) => r.id).join(', ')}`);
    }
    return { notes };
  }

  private refuse(key: string, reason: string): void {
    this.refusals.set(key, reason);
    if (this.refusals.size > maxRefusals) this.refusals.delete(this.refusals.keys().next().value!);
  }
}
