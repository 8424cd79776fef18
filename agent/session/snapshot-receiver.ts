import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type { Logger } from '../../common/logger.ts';
import type { SnapshotData } from '../../proto/convert.ts';

const idPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

interface Transfer {
  snapshotId: string;
  received: number;
  sha: Hash;
  /** Writes in the order the pieces came. */
  chain: Promise<void>;
  failed: boolean;
}

/**
 * Writes the pieces of an etcd snapshot the coordinator sends before a restore step to `pathOf(id)`.part, in order,
 * and renames the file into place only when the last piece's size and sha256 are those of the bytes received. A piece
 * out of order drops the transfer; a piece at offset 0 starts it again (the coordinator sends the whole file again
 * after a restart or a retry).
 */
export class SnapshotReceiver {
  private readonly pathOf: (snapshotId: string) => string;
  private readonly logger: Logger;
  private transfer: Transfer | undefined;

  constructor(options: { pathOf: (snapshotId: string) => string; logger: Logger }) {
    this.pathOf = options.pathOf;
    this.logger = options.logger;
  }

  /** Resolves once this piece is written (or the transfer it belongs to was dropped). */
  handle(piece: SnapshotData): Promise<void> {
    if (!idPattern.test(piece.snapshotId)) {
      this.logger.warn({ snapshotId: piece.snapshotId }, 'ignored a snapshot piece with an invalid snapshot id');
      return Promise.resolve();
    }
    const final = this.pathOf(piece.snapshotId);
    const part = `${final}.part`;
    let t = this.transfer;
    if (piece.offset === 0 && !piece.last) {
      t = {
        snapshotId: piece.snapshotId,
        received: 0,
        sha: createHash('sha256'),
        chain: Promise.resolve(),
        failed: false,
      };
      const previous = this.transfer?.chain ?? Promise.resolve();
      t.chain = previous.then(() => rm(part, { force: true }));
      this.transfer = t;
    }
    if (!t || t.snapshotId !== piece.snapshotId || t.failed || piece.offset !== t.received) {
      this.logger.warn(
        { snapshotId: piece.snapshotId, offset: piece.offset, expected: t?.received },
        'dropped an etcd snapshot transfer: a piece came out of order',
      );
      if (t) t.failed = true;
      return Promise.resolve();
    }
    const transfer = t;
    transfer.received += piece.data.length;
    transfer.sha.update(piece.data);
    const data = Buffer.from(piece.data);
    transfer.chain = transfer.chain.then(async () => {
      if (transfer.failed) return;
      if (data.length > 0) {
        const file = await open(part, 'a', 0o600);
        try {
          await file.write(data);
        } finally {
          await file.close();
        }
      }
      if (!piece.last) return;
      const sha256 = transfer.sha.digest('hex');
      if (transfer.received !== piece.size || sha256 !== piece.sha256) {
        transfer.failed = true;
        await rm(part, { force: true });
        this.logger.warn(
          {
            snapshotId: piece.snapshotId,
            received: transfer.received,
            size: piece.size,
            sha256,
            expected: piece.sha256,
          },
          'dropped an etcd snapshot: its size or sha256 is not what the coordinator announced',
        );
        return;
      }
      await rename(part, final);
      this.logger.info(
        { snapshotId: piece.snapshotId, bytes: transfer.received, path: final },
        'received an etcd snapshot',
      );
    });
    transfer.chain = transfer.chain.catch((error: unknown) => {
      transfer.failed = true;
      this.logger.warn({ err: error, path: part }, 'could not write a piece of an etcd snapshot');
    });
    return transfer.chain;
  }
}
