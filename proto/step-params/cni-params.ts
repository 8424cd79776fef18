import Type, { type Static } from 'typebox';
import { kubeadmPatterns, patterns } from './value-patterns.ts';

export const CniParamsSchema = Type.Object(
  {
    plugin: Type.Union([Type.Literal('flannel'), Type.Literal('calico')]),
    manifestUrl: Type.Optional(Type.String({ pattern: patterns.url })),
    manifestPath: Type.Optional(Type.String({ pattern: '^/[A-Za-z0-9._/-]{1,255}$' })),
    manifestSha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    allowHttp: Type.Boolean({ default: false }),
    podSubnet: Type.String({ pattern: kubeadmPatterns.cidr }),
    rolloutTimeoutSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 0 }),
  },
  { additionalProperties: false },
);
export type CniParams = Static<typeof CniParamsSchema>;
