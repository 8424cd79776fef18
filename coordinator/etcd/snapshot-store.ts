import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { SnapshotRecord, SnapshotRecordStore, Store } from '../store/store.ts';

export type { SnapshotRecord } from '../store/store.ts';

/** A snapshot id: it names a file, so nothing that could leave its directory. */
export const snapshotIdPattern = '^[a-z0-9][a-z0-9-]{0,62}$';
const snapshotId = new RegExp(snapshotIdPattern);
const clusterName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** What the agent says of the snapshot it sent, checked against the bytes that arrived. */
export interface SnapshotFacts {
  node: string;
  takenAtMs: number;
  sizeBytes: number;
  sha256: string;
  revision: number;
  totalKeys: number;
  hash: number;
  runId: string | null;
}

/**
 * The etcd snapshots the coordinator keeps, off the cluster's nodes: one file per snapshot under
 * DATA_DIR/etcd-snapshots/CLUSTER/ID.db (0600, directories 0700), its metadata in the store. A file is written as
 * ID.db.part and renamed into place only once its size and sha256 match what the agent announced, so a listed
 * snapshot always has its whole, checked file.
 */
export class SnapshotStore {
  readonly directory: string;
  private readonly records: SnapshotRecordStore;
  private readonly uploads = new Map<string, SnapshotUpload>();

  constructor(dataDir: string, store: Pick<Store, 'snapshots'>) {
    this.directory = join(dataDir, 'etcd-snapshots');
    this.records = store.snapshots;
  }

  /** Newest first. */
  list(cluster: string): SnapshotRecord[] {
    return this.records.list(cluster);
  }

  get(cluster: string, id: string): SnapshotRecord | undefined {
    return this.records.get(cluster, id);
  }

  filePath(record: Pick<SnapshotRecord, 'cluster' | 'id'>): string {
    return join(this.clusterDirectory(record.cluster), `${checkedId(record.id)}.db`);
  }

  /** Starts receiving a snapshot's file; a second upload of the same id replaces an unfinished first one. */
  beginUpload(cluster: string, id: string): SnapshotUpload {
    if (this.records.get(cluster, id)) {
      throw new KubehaError(ErrorCode.conflict, `cluster ${cluster} already has an etcd snapshot ${id}`);
    }
    const key = `${cluster}/${id}`;
    this.uploads.get(key)?.abort();
    const directory = this.clusterDirectory(cluster);
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const upload = new SnapshotUpload(cluster, id, this.filePath({ cluster, id }), this.records, () =>
      this.uploads.delete(key),
    );
    this.uploads.set(key, upload);
    return upload;
  }

  /** The upload in progress for this snapshot, if any. */
  upload(cluster: string, id: string): SnapshotUpload | undefined {
    return this.uploads.get(`${cluster}/${id}`);
  }

  /** Removes the snapshot's file and record; false when there was none. */
  delete(cluster: string, id: string): boolean {
    const record = this.records.get(cluster, id);
    if (!record) return false;
    rmSync(this.filePath(record), { force: true });
    return this.records.delete(cluster, id);
  }

  /** Deletes all but the newest `keep` snapshots of the cluster; returns the ones deleted. */
  prune(cluster: string, keep: number): SnapshotRecord[] {
    const old = this.records.list(cluster).slice(Math.max(0, keep));
    for (const record of old) this.delete(cluster, record.id);
    return old;
  }

  /** Removes the partial files a coordinator that stopped mid-upload left behind; returns how many. */
  removeStaleUploads(): number {
    let removed = 0;
    let clusters: string[];
    try {
      clusters = readdirSync(this.directory);
    } catch {
      return 0;
    }
    for (const cluster of clusters) {
      for (const file of readdirSync(join(this.directory, cluster))) {
        if (!file.endsWith('.db.part') || this.uploads.has(`${cluster}/${file.slice(0, -'.db.part'.length)}`)) continue;
        rmSync(join(this.directory, cluster, file), { force: true });
        removed++;
      }
    }
    return removed;
  }

  private clusterDirectory(cluster: string): string {
    if (!clusterName.test(cluster)) {
      throw new KubehaError(ErrorCode.badRequest, `cluster: "${cluster}" is not a cluster name`);
    }
    return join(this.directory, cluster);
  }
}

/** One snapshot's bytes arriving in order; finish() checks them and records the snapshot. */
export class SnapshotUpload {
  readonly cluster: string;
  readonly id: string;
  private readonly path: string;
  private readonly partPath: string;
  private readonly records: SnapshotRecordStore;
  private readonly done: () => void;
  private readonly sha = createHash('sha256') as Hash;
  private fd: number | undefined;
  private received = 0;

  constructor(cluster: string, id: string, path: string, records: SnapshotRecordStore, done: () => void) {
    this.cluster = cluster;
    this.id = id;
    this.path = path;
    this.partPath = `${path}.part`;
    this.records = records;
    this.done = done;
    this.fd = openSync(this.partPath, 'w', 0o600);
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** Appends a chunk; a chunk out of order (lost or repeated) fails the upload. */
  write(offset: number, bytes: Uint8Array): void {
    if (this.fd === undefined) throw new KubehaError(ErrorCode.conflict, `upload of snapshot ${this.id} is closed`);
    if (offset !== this.received) {
      this.abort();
      throw new KubehaError(
        ErrorCode.badRequest,
        `snapshot ${this.id}: chunk at offset ${offset}, expected ${this.received}`,
      );
    }
    let written = 0;
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written);
    this.sha.update(bytes);
    this.received += bytes.length;
  }

  /** Checks size and sha256 against what the agent announced, then renames the file into place and records it. */
  finish(facts: SnapshotFacts): SnapshotRecord {
    if (this.fd === undefined) throw new KubehaError(ErrorCode.conflict, `upload of snapshot ${this.id} is closed`);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    const sha256 = this.sha.digest('hex');
    const size = statSync(this.partPath).size;
    if (size !== facts.sizeBytes || sha256 !== facts.sha256 || size !== this.received) {
      this.abort();
      throw new KubehaError(
        ErrorCode.stepFailed,
        `snapshot ${this.id}: received ${size} bytes with sha256 ${sha256}, the agent sent ${facts.sizeBytes} bytes with sha256 ${facts.sha256}`,
      );
    }
    renameSync(this.partPath, this.path);
    const record: SnapshotRecord = { id: this.id, cluster: this.cluster, ...facts };
    try {
      this.records.insert(record);
    } catch (error) {
      rmSync(this.path, { force: true });
      this.done();
      throw error;
    }
    this.done();
    return record;
  }

  abort(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.partPath, { force: true });
    this.done();
  }
}

function checkedId(id: string): string {
  if (!snapshotId.test(id)) throw new KubehaError(ErrorCode.badRequest, `id: "${id}" is not a snapshot id`);
  return id;
}
