import Type, { type Static } from 'typebox';
import { patterns } from './value-patterns.ts';

export const KubePackagesParamsSchema = Type.Object(
  {
    kubernetesVersion: Type.String({ pattern: patterns.kubernetesVersion }),
    /** The rpm repository of this minor (a mirror); default https://pkgs.k8s.io/core:/stable:/vX.Y/rpm/. */
    repoBaseUrl: Type.Optional(Type.String({ pattern: patterns.url, maxLength: 512 })),
    /** The repository's signing key; "none" for a mirror without signatures; default: the repository's own key. */
    gpgKeyUrl: Type.Optional(
      Type.Union([Type.Literal('none'), Type.String({ pattern: patterns.url, maxLength: 512 })]),
    ),
  },
  { additionalProperties: false },
);
export type KubePackagesParams = Static<typeof KubePackagesParamsSchema>;
