// An etcd snapshot of the lab cluster through the real CLI: taken on a healthy control plane by the real etcdctl,
// streamed to the coordinator, listed, downloaded with its sha256 checked, and the download read by the real
// etcdutl, whose revision, keys and hash are the ones the coordinator listed; nothing is left on the node.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Day2Scenario } from './day2-scenario.ts';

interface SnapshotJson {
  id: string;
  node: string;
  revision: number;
  totalKeys: number;
  hash: number;
  sizeBytes: number;
  sha256: string;
}

const download = '/root/etcd-snapshot.db';

export const etcdSnapshot: Day2Scenario = {
  name: 'etcd-snapshot',
  summary:
    'kubeha etcd snapshot, etcd snapshots and etcd snapshot get: the download checked by its sha256 and by etcdutl snapshot status',
  async run(lab) {
    const started = Date.now();
    const taken = await lab.cli(['etcd', 'snapshot', lab.clusterName]);
    const runSeconds = (Date.now() - started) / 1000;
    const { snapshots } = (await lab.api('GET', `/v1/clusters/${lab.clusterName}/etcd-snapshots`)) as {
      snapshots: SnapshotJson[];
    };
    const newest = snapshots[0];
    if (!newest) throw new Error(`kubeha etcd snapshot ${lab.clusterName}: no snapshot listed`);
    const listed: string[] = [];
    const listOk = await lab.cli(['etcd', 'snapshots', lab.clusterName], (line) => listed.push(line));
    const downloaded = await lab.cli(['etcd', 'snapshot', 'get', lab.clusterName, newest.id, '-o', download]);
    const bytes = readFileSync(lab.admin.hostPath(download));
    const status = await lab.admin.run('etcdutl', ['snapshot', 'status', download, '-w', 'json']);
    if (status.code !== 0) throw new Error(`etcdutl snapshot status: exit ${status.code}: ${status.stderr.trim()}`);
    const etcdutl = JSON.parse(status.stdout) as { hash: number; revision: number; totalKey: number };
    const node = lab.controlPlanes.find((n) => n.name === newest.node);
    if (!node) throw new Error(`the snapshot's node ${newest.node} is not a control plane of the lab`);
    const left = await node.run('ls', ['-A', '/var/lib/etcd']);
    return {
      snapshot_ok: taken,
      snapshot_run_s: Math.round(runSeconds * 10) / 10,
      node: newest.node,
      first_control_plane: lab.controlPlanes[0]?.name,
      size_bytes: newest.sizeBytes,
      revision: newest.revision,
      total_keys: newest.totalKeys,
      hash: newest.hash,
      list_ok: listOk,
      list_shows_id: listed.some((l) => l.startsWith(`${newest.id} `)),
      download_ok: downloaded,
      download_sha256_matches: createHash('sha256').update(bytes).digest('hex') === newest.sha256,
      etcdutl_revision: etcdutl.revision,
      etcdutl_total_keys: etcdutl.totalKey,
      etcdutl_hash: etcdutl.hash,
      node_etcd_dir: left.stdout.split('\n').filter(Boolean),
    };
  },
  check(result) {
    expect(result['snapshot_ok']).toBe(true);
    expect(result['node']).toBe(result['first_control_plane']);
    expect(result['size_bytes']).toBeGreaterThan(0);
    expect(result['total_keys']).toBeGreaterThan(100);
    expect(result['list_ok']).toBe(true);
    expect(result['list_shows_id']).toBe(true);
    expect(result['download_ok']).toBe(true);
    expect(result['download_sha256_matches']).toBe(true);
    // The real etcdutl reads the downloaded file as the coordinator listed it.
    expect(result['etcdutl_revision']).toBe(result['revision']);
    expect(result['etcdutl_total_keys']).toBe(result['total_keys']);
    expect(result['etcdutl_hash']).toBe(result['hash']);
    // The node's copy was only a means of sending it.
    expect(result['node_etcd_dir']).toEqual(['member']);
  },
};
