import Type, { type Static } from 'typebox';
import { kubeadmPatterns } from './value-patterns.ts';

export const CertsRenewParamsSchema = Type.Object(
  {
    /** Renew only when a certificate that `kubeadm certs renew all` renews expires before this time (RFC 3339, UTC). */
    renewIfExpiresBefore: Type.String({
      pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$',
    }),
    /** This control plane's advertise address: its apiserver's /readyz and serving certificate are read there. */
    apiserverAddress: Type.String({ pattern: kubeadmPatterns.address }),
    /** How long each wait of the static-pod restart may take (the kubelet stopping the pods, then serving again). */
    restartTimeoutSeconds: Type.Integer({ minimum: 10, maximum: 3600, default: 300 }),
  },
  { additionalProperties: false },
);
export type CertsRenewParams = Static<typeof CertsRenewParamsSchema>;
