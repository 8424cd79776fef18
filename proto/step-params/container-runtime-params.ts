import Type, { type Static } from 'typebox';
import { patterns } from './value-patterns.ts';

export const ContainerRuntimeParamsSchema = Type.Object(
  {
    kubernetesVersion: Type.String({ pattern: patterns.kubernetesVersion }),
    /** Base of Docker's EL repository (a mirror for air-gapped sites); default by distribution. */
    repoBaseUrl: Type.Optional(Type.String({ pattern: patterns.url, maxLength: 512 })),
    mirrors: Type.Array(
      Type.Object(
        {
          registry: Type.String({ pattern: patterns.registry, maxLength: 253 }),
          endpoints: Type.Array(Type.String({ pattern: patterns.url, maxLength: 512 }), { minItems: 1 }),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    /** Default: kubeadm's pause image for the Kubernetes minor, from imageRepository. */
    sandboxImage: Type.Optional(Type.String({ pattern: patterns.image, maxLength: 512 })),
    /** Docker's signing key; "none" for a mirror without signatures; default: the key under repoBaseUrl. */
    gpgKeyUrl: Type.Optional(
      Type.Union([Type.Literal('none'), Type.String({ pattern: patterns.url, maxLength: 512 })]),
    ),
    /** Where kubeadm's images (the pause image among them) come from; default registry.k8s.io. */
    imageRepository: Type.Optional(Type.String({ pattern: patterns.imageRepository, maxLength: 253 })),
    /** dnf may remove what conflicts with containerd.io (runc, and podman or buildah that need it). */
    allowErasing: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type ContainerRuntimeParams = Static<typeof ContainerRuntimeParamsSchema>;
