import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.ts';
import { requireClusterSpec } from '../../cluster-spec/parse-cluster-spec.ts';
import { SnapshotStore } from '../../etcd/snapshot-store.ts';
import { SqliteStore } from '../../store/sqlite-store.ts';
import { buildApi } from '../build-api.ts';
import { etcdSnapshotsRoutes, snapshotSha256Header } from './etcd-snapshots-routes.ts';

const adminToken = 'a'.repeat(64);
const auth = { authorization: `Bearer ${adminToken}` };

let api: FastifyInstance;
let store: SqliteStore;
let snapshots: SnapshotStore;
let dataDir: string;
let baseUrl: string;

function keep(id: string, bytes: Buffer, takenAtMs: number): void {
  const upload = snapshots.beginUpload('lab', id);
  upload.write(0, bytes);
  upload.finish({
    node: 'cp1',
    takenAtMs,
    sizeBytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    revision: 77,
    totalKeys: 12,
    hash: 3041513337,
    runId: 'run-1',
  });
}

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kubeha-snapshot-routes-'));
  store = new SqliteStore(join(dataDir, 'coordinator.db'));
  snapshots = new SnapshotStore(dataDir, store);
  const spec = requireClusterSpec({
    apiVersion: 'kubeha.io/v1',
    kind: 'Cluster',
    metadata: { name: 'lab' },
    spec: {
      kubernetesVersion: '1.34.4',
      endpoint: { vip: '10.0.0.100', interface: 'eth0' },
      nodes: [{ name: 'cp1', address: '10.0.0.11', role: 'control-plane' }],
    },
  });
  store.clusters.put({
    name: 'lab',
    spec,
    appliedSpec: spec,
    appliedAt: 1,
    createdAt: 1,
    updatedAt: 1,
    initializedAt: 1,
  });
  api = await buildApi({
    adminToken,
    logger: createLogger({ name: 'test', level: 'silent' }),
    version: 'test',
    routes: [etcdSnapshotsRoutes({ store, snapshots })],
  });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterEach(async () => {
  await api.close();
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('etcd snapshot routes', () => {
  it('GIVEN two kept snapshots WHEN listed THEN newest first, with what etcdutl said and the sha256', async () => {
    keep('s-old', Buffer.from('old snapshot'), Date.UTC(2026, 0, 1));
    keep('s-new', Buffer.from('new snapshot!'), Date.UTC(2026, 0, 2));

    const reply = await fetch(`${baseUrl}/v1/clusters/lab/etcd-snapshots`, { headers: auth });

    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { snapshots: { id: string }[] };
    expect(body.snapshots).toEqual([
      {
        id: 's-new',
        cluster: 'lab',
        takenAt: '2026-01-02T00:00:00.000Z',
        node: 'cp1',
        revision: 77,
        totalKeys: 12,
        hash: 3041513337,
        sizeBytes: 13,
        sha256: createHash('sha256').update('new snapshot!').digest('hex'),
        runId: 'run-1',
      },
      expect.objectContaining({ id: 's-old', sizeBytes: 12 }),
    ]);
  });

  it('GIVEN a kept snapshot WHEN its file is fetched THEN its bytes, with their sha256 in a header', async () => {
    const bytes = Buffer.alloc(300_000, 7);
    keep('s1', bytes, 1);

    const reply = await fetch(`${baseUrl}/v1/clusters/lab/etcd-snapshots/s1/file`, { headers: auth });

    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/octet-stream');
    expect(reply.headers.get(snapshotSha256Header)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(Buffer.from(await reply.arrayBuffer())).toEqual(bytes);
  });

  it('GIVEN an unknown cluster, an unknown snapshot or a malformed id THEN 404, 404 and 400, each naming it', async () => {
    const get = async (path: string) => {
      const reply = await fetch(`${baseUrl}${path}`, { headers: auth });
      return { status: reply.status, message: ((await reply.json()) as { error: { message: string } }).error.message };
    };
    expect(await get('/v1/clusters/other/etcd-snapshots')).toEqual({ status: 404, message: 'no cluster other' });
    expect(await get('/v1/clusters/lab/etcd-snapshots/s9/file')).toEqual({
      status: 404,
      message: 'cluster lab has no etcd snapshot s9',
    });
    expect((await get('/v1/clusters/lab/etcd-snapshots/..%2Fx')).status).toBe(400);
  });

  it('GIVEN no token WHEN a file is fetched THEN 401', async () => {
    keep('s1', Buffer.from('x'), 1);
    expect((await fetch(`${baseUrl}/v1/clusters/lab/etcd-snapshots/s1/file`)).status).toBe(401);
  });
});
