import Type, { type Static } from 'typebox';

/** The static pods an etcd restore stops on a control plane: etcd must not serve the old data, nor an apiserver use it. */
export const restoreStoppedPods = ['kube-apiserver', 'etcd'] as const;

export const EtcdRestoreStopParamsSchema = Type.Object(
  {
    /** Names the parking directory, so that only the restore that parked a manifest puts it back. */
    restoreId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    /** On the control plane whose member is restored: its etcd container runs etcdutl before the restore stops it. */
    keepEtcd: Type.Boolean({ default: false }),
    stopTimeoutSeconds: Type.Integer({ minimum: 10, maximum: 3600, default: 300 }),
  },
  { additionalProperties: false },
);
export type EtcdRestoreStopParams = Static<typeof EtcdRestoreStopParamsSchema>;
