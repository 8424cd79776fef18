import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { type MessageToAgent, snapshotDataMessage } from '../../proto/convert.ts';
import type { SnapshotStore } from './snapshot-store.ts';

/** Well under gRPC's 4 MiB message limit. */
const pieceBytes = 256 * 1024;

export interface SnapshotSenderDeps {
  snapshots: Pick<SnapshotStore, 'get' | 'filePath'>;
  /** Resolves once the session has room for more; false when the agent is gone. */
  send(agentId: string, message: MessageToAgent): Promise<boolean>;
  logger: Logger;
}

/**
 * Sends a stored etcd snapshot to the agent of the step that restores it, before that step's RunStep: in order, one
 * piece at a time as the session drains, the last piece with the size and sha256 of the file as stored. The agent
 * keeps the file only when the bytes it received match, and the step checks the sha256 again before using it.
 */
export class SnapshotSender {
  private readonly deps: SnapshotSenderDeps;

  constructor(deps: SnapshotSenderDeps) {
    this.deps = deps;
  }

  async send(agentId: string, cluster: string, ref: { runId: string; stepId: string }, snapshotId: string) {
    const record = this.deps.snapshots.get(cluster, snapshotId);
    if (!record) throw new KubehaError(ErrorCode.notFound, `cluster ${cluster} has no etcd snapshot ${snapshotId}`);
    const path = this.deps.snapshots.filePath(record);
    const sha = createHash('sha256');
    let offset = 0;
    const base = { ...ref, snapshotId, last: false, size: 0, sha256: '' };
    for await (const data of createReadStream(path, { highWaterMark: pieceBytes }) as AsyncIterable<Buffer>) {
      sha.update(data);
      if (!(await this.deps.send(agentId, snapshotDataMessage({ ...base, offset, data })))) {
        throw new KubehaError(
          ErrorCode.agentDisconnected,
          `agent ${agentId} left while snapshot ${snapshotId} was sent`,
        );
      }
      offset += data.length;
    }
    const sha256 = sha.digest('hex');
    if (offset !== record.sizeBytes || sha256 !== record.sha256) {
      throw new KubehaError(
        ErrorCode.internal,
        `${path} is ${offset} bytes with sha256 ${sha256}, not the ${record.sizeBytes} bytes with sha256 ${record.sha256} recorded for snapshot ${snapshotId}: not sent`,
      );
    }
    const last = { ...base, offset, data: new Uint8Array(0), last: true, size: offset, sha256 };
    if (!(await this.deps.send(agentId, snapshotDataMessage(last)))) {
      throw new KubehaError(ErrorCode.agentDisconnected, `agent ${agentId} left while snapshot ${snapshotId} was sent`);
    }
    this.deps.logger.info(
      { agentId, cluster, snapshotId, bytes: offset, ...ref },
      'sent an etcd snapshot for a restore',
    );
  }
}
