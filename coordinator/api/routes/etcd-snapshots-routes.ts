import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../../common/errors.ts';
import { type SnapshotRecord, type SnapshotStore, snapshotIdPattern } from '../../etcd/snapshot-store.ts';
import type { Store } from '../../store/store.ts';
import type { ApiPlugin } from '../build-api.ts';
import { clientErrorReplies } from '../error-reply.ts';

const SnapshotReply = Type.Object(
  {
    id: Type.String(),
    cluster: Type.String(),
    takenAt: Type.String({ format: 'date-time', description: 'When the coordinator began receiving it' }),
    node: Type.String({ description: 'The control plane whose etcd member saved it' }),
    revision: Type.Integer({ description: 'etcd revision (etcdutl snapshot status)' }),
    totalKeys: Type.Integer(),
    hash: Type.Integer({ description: "etcdutl's hash of the snapshot's keys and values" }),
    sizeBytes: Type.Integer(),
    sha256: Type.String({ description: 'Of the file; the download is checked against it' }),
    runId: Type.Union([Type.String(), Type.Null()], { description: 'The etcd-snapshot run that took it' }),
  },
  { $id: 'EtcdSnapshot' },
);

export type EtcdSnapshotReply = Static<typeof SnapshotReply>;

const SnapshotsReply = Type.Object({
  cluster: Type.String(),
  snapshots: Type.Array(SnapshotReply, { description: 'Newest first' }),
});

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' }) });
const SnapshotParams = Type.Object({
  name: NameParams.properties.name,
  id: Type.String({ pattern: snapshotIdPattern }),
});

/** The header of a snapshot download that carries the file's sha256 (hex), for the client to check. */
export const snapshotSha256Header = 'x-kubeha-sha256';

function toReply(record: SnapshotRecord): EtcdSnapshotReply {
  return {
    id: record.id,
    cluster: record.cluster,
    takenAt: new Date(record.takenAtMs).toISOString(),
    node: record.node,
    revision: record.revision,
    totalKeys: record.totalKeys,
    hash: record.hash,
    sizeBytes: record.sizeBytes,
    sha256: record.sha256,
    runId: record.runId,
  };
}

/**
 * The etcd snapshots the coordinator keeps: listed, described, downloaded. Taking one is a run
 * (POST /v1/clusters/:name/runs with kind etcd-snapshot).
 */
export function etcdSnapshotsRoutes(deps: { store: Pick<Store, 'clusters'>; snapshots: SnapshotStore }): ApiPlugin {
  const recordOf = (cluster: string, id: string): SnapshotRecord => {
    if (!deps.store.clusters.get(cluster)) throw new KubehaError(ErrorCode.notFound, `no cluster ${cluster}`);
    const record = deps.snapshots.get(cluster, id);
    if (!record) throw new KubehaError(ErrorCode.notFound, `cluster ${cluster} has no etcd snapshot ${id}`);
    return record;
  };
  return (app) => {
    app.get(
      '/v1/clusters/:name/etcd-snapshots',
      {
        schema: {
          summary: "The cluster's etcd snapshots the coordinator keeps, newest first",
          params: NameParams,
          response: { 200: SnapshotsReply, ...clientErrorReplies },
        },
      },
      async (request) => {
        const { name } = request.params;
        if (!deps.store.clusters.get(name)) throw new KubehaError(ErrorCode.notFound, `no cluster ${name}`);
        return { cluster: name, snapshots: deps.snapshots.list(name).map(toReply) };
      },
    );

    app.get(
      '/v1/clusters/:name/etcd-snapshots/:id',
      {
        schema: {
          summary: 'One etcd snapshot: where and when it was taken, what etcdutl said of it, its size and sha256',
          params: SnapshotParams,
          response: { 200: SnapshotReply, ...clientErrorReplies },
        },
      },
      async (request) => toReply(recordOf(request.params.name, request.params.id)),
    );

    app.get(
      '/v1/clusters/:name/etcd-snapshots/:id/file',
      {
        schema: {
          summary: `The snapshot file (etcdctl snapshot save's format); its sha256 is in the ${snapshotSha256Header} header`,
          params: SnapshotParams,
          produces: ['application/octet-stream'],
          response: { 200: Type.Unsafe<Readable>({ type: 'string', format: 'binary' }), ...clientErrorReplies },
        },
      },
      async (request, reply) => {
        const record = recordOf(request.params.name, request.params.id);
        // Sent chunked: a content-length set by hand on a streamed reply keeps its connection from ever closing.
        reply
          .type('application/octet-stream')
          .header(snapshotSha256Header, record.sha256)
          .header('content-disposition', `attachment; filename="${record.cluster}-${record.id}.db"`);
        return reply.send(createReadStream(deps.snapshots.filePath(record)));
      },
    );
  };
}
