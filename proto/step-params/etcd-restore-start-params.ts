import Type, { type Static } from 'typebox';
import { kubeadmPatterns } from './value-patterns.ts';

export const EtcdRestoreStartParamsSchema = Type.Object(
  {
    restoreId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    /** This control plane's advertise address: its apiserver's /readyz is read there. */
    apiserverAddress: Type.String({ pattern: kubeadmPatterns.address }),
    waitTimeoutSeconds: Type.Integer({ minimum: 10, maximum: 3600, default: 300 }),
  },
  { additionalProperties: false },
);
export type EtcdRestoreStartParams = Static<typeof EtcdRestoreStartParamsSchema>;
