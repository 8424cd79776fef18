import Type, { type Static } from 'typebox';
import { kubeadmPatterns, patterns } from './value-patterns.ts';

export const KubeadmInitParamsSchema = Type.Object(
  {
    kubernetesVersion: Type.String({ pattern: patterns.kubernetesVersion }),
    controlPlaneEndpoint: Type.String({ pattern: kubeadmPatterns.endpoint }),
    advertiseAddress: Type.String({ pattern: kubeadmPatterns.address }),
    nodeName: Type.String({ pattern: patterns.hostname }),
    podSubnet: Type.String({ pattern: kubeadmPatterns.cidr }),
    serviceSubnet: Type.String({ pattern: kubeadmPatterns.cidr, default: '10.96.0.0/12' }),
    bootstrapToken: Type.String({ pattern: kubeadmPatterns.bootstrapToken }),
    certificateKey: Type.String({ pattern: kubeadmPatterns.certificateKey }),
    tokenTtlSeconds: Type.Integer({ minimum: 0, maximum: 365 * 24 * 3600, default: 0 }),
    /** kubeadm's imageRepository (a mirror of registry.k8s.io); default registry.k8s.io. */
    imageRepository: Type.Optional(Type.String({ pattern: patterns.imageRepository, maxLength: 253 })),
    /** Kubernetes >= 1.35 on cgroup v1 hosts: the kubelet's failCgroupV1 off, kubeadm's SystemVerification ignored. */
    allowCgroupV1: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type KubeadmInitParams = Static<typeof KubeadmInitParamsSchema>;
