import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { EtcdSnapshotReply } from '../../api/routes/etcd-snapshots-routes.ts';
import { snapshotSha256Header } from '../../api/routes/etcd-snapshots-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { type OutputFormat, printList } from '../output-format.ts';

function snapshotsPath(cluster: string, id?: string): string {
  const base = `/v1/clusters/${encodeURIComponent(cluster)}/etcd-snapshots`;
  return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
}

/** 1536 -> "1.5 KiB". */
export function byteSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `kubeha etcd snapshots CLUSTER`: the snapshots the coordinator keeps, newest first. */
export async function etcdSnapshotsCommand(
  api: ApiClient,
  out: (text: string) => void,
  cluster: string,
  format: OutputFormat,
): Promise<number> {
  const reply = await api.request<{ snapshots: EtcdSnapshotReply[] }>('GET', snapshotsPath(cluster));
  return printList(out, format, reply.snapshots, {
    header: (wide) => ['ID', 'TAKEN', 'NODE', 'REVISION', 'KEYS', 'SIZE', 'SHA256', ...(wide ? ['HASH', 'RUN'] : [])],
    row: (s, wide) => [
      s.id,
      s.takenAt.replace(/\.\d{3}Z$/, 'Z'),
      s.node,
      String(s.revision),
      String(s.totalKeys),
      byteSize(s.sizeBytes),
      wide ? s.sha256 : s.sha256.slice(0, 12),
      ...(wide ? [String(s.hash), s.runId ?? '-'] : []),
    ],
  });
}

/**
 * `kubeha etcd snapshot get CLUSTER ID -o FILE`: downloads the snapshot to FILE (0600), written beside it first and
 * renamed into place only when its size and sha256 are the ones the coordinator recorded.
 */
export async function etcdSnapshotGetCommand(
  api: ApiClient,
  out: (text: string) => void,
  err: (text: string) => void,
  cluster: string,
  id: string,
  file: string,
): Promise<number> {
  const record = await api.request<EtcdSnapshotReply>('GET', snapshotsPath(cluster, id));
  const response = await api.download(`${snapshotsPath(cluster, id)}/file`);
  const announced = response.headers.get(snapshotSha256Header);
  const part = `${file}.part`;
  const fd = openSync(part, 'w', 0o600);
  const sha = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of response.body ?? []) {
      const bytes = chunk as Uint8Array;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      sha.update(bytes);
      size += bytes.length;
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(part, { force: true });
    throw error;
  }
  closeSync(fd);
  const sha256 = sha.digest('hex');
  if (sha256 !== record.sha256 || size !== record.sizeBytes || (announced !== null && announced !== record.sha256)) {
    rmSync(part, { force: true });
    err(
      `kubeha: snapshot ${id} of ${cluster}: downloaded ${size} bytes with sha256 ${sha256}, the coordinator recorded ${record.sizeBytes} bytes with sha256 ${record.sha256}; nothing written to ${file}`,
    );
    return 1;
  }
  renameSync(part, file);
  out(`etcd snapshot ${id} of ${cluster} written to ${file}: ${byteSize(size)}, sha256 ${sha256} (checked)`);
  return 0;
}
