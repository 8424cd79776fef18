import Type, { type Static } from 'typebox';
import { kubeadmPatterns, patterns } from './value-patterns.ts';

export const KubeadmJoinParamsSchema = Type.Object(
  {
    kubernetesVersion: Type.String({ pattern: patterns.kubernetesVersion }),
    controlPlaneEndpoint: Type.String({ pattern: kubeadmPatterns.endpoint }),
    advertiseAddress: Type.String({ pattern: kubeadmPatterns.address }),
    nodeName: Type.String({ pattern: patterns.hostname }),
    controlPlane: Type.Boolean({ default: false }),
    bootstrapToken: Type.String({ pattern: kubeadmPatterns.bootstrapToken }),
    caCertHashes: Type.Array(Type.String({ pattern: kubeadmPatterns.caCertHash }), { minItems: 1, maxItems: 8 }),
    certificateKey: Type.Optional(Type.String({ pattern: kubeadmPatterns.certificateKey })),
    /** Kubernetes >= 1.35 on cgroup v1 hosts: kubeadm's SystemVerification ignored. */
    allowCgroupV1: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type KubeadmJoinParams = Static<typeof KubeadmJoinParamsSchema>;
