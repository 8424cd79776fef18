import Type, { type Static } from 'typebox';

/** The largest chunk a step sends: well under gRPC's 4 MiB message limit. */
export const maxSnapshotChunkBytes = 1024 * 1024;

export const EtcdSnapshotParamsSchema = Type.Object(
  {
    /** Names the snapshot on the coordinator (and its file there and on the node): nothing that could leave a directory. */
    snapshotId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    chunkBytes: Type.Integer({ minimum: 4096, maximum: maxSnapshotChunkBytes, default: 256 * 1024 }),
  },
  { additionalProperties: false },
);
export type EtcdSnapshotParams = Static<typeof EtcdSnapshotParamsSchema>;
