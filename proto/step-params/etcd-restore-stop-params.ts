import Type, { type Static } from 'typebox';

/** The static pods an etcd restore stops on a control plane: etcd must not serve the old data, nor an apiserver use it. */
export const restoreStoppedPods = ['kube-apiserver', 'etcd'] as const;

export const EtcdRestoreStopParamsSchema = Type.Object(
  {
    /** Names the parking directory, so that only the restore that parked a manifest puts it back. */
    restoreId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    /** On the control plane whose member is restored: its etcd container runs etcdutl before the restore stops it. */
    keepEtcd: Type.Boolean({ default: false }),
    /**
     * Set on the restored control plane unless the operator forces the restore: the step refuses, changing nothing,
     * while the members it can reach make a quorum.
     */
    refuseWithQuorum: Type.Boolean({ default: false }),
    /** When the snapshot was taken (RFC 3339), for the refusal's words. */
    snapshotTakenAt: Type.Optional(Type.String({ maxLength: 40 })),
    stopTimeoutSeconds: Type.Integer({ minimum: 10, maximum: 3600, default: 300 }),
  },
  { additionalProperties: false },
);
export type EtcdRestoreStopParams = Static<typeof EtcdRestoreStopParamsSchema>;
