import Type, { type Static } from 'typebox';
import { kubeadmPatterns, patterns } from './value-patterns.ts';

export const JoinCredentialsParamsSchema = Type.Object(
  {
    action: Type.Union([Type.Literal('create-token'), Type.Literal('delete-token'), Type.Literal('upload-certs')]),
    token: Type.Optional(Type.String({ pattern: kubeadmPatterns.bootstrapTokenOrId })),
    ttlSeconds: Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600, default: 0 }),
    certificateKey: Type.Optional(Type.String({ pattern: kubeadmPatterns.certificateKey })),
    description: Type.String({ pattern: kubeadmPatterns.description, default: 'kubeha join token' }),
    minRemainingSeconds: Type.Integer({ minimum: 0, maximum: 2 * 3600, default: 0 }),
    /** Picks the kubeadm config API of the files that carry the secrets; v1beta3 (read by every supported kubeadm) when absent. */
    kubernetesVersion: Type.Optional(Type.String({ pattern: patterns.kubernetesVersion })),
  },
  { additionalProperties: false },
);
export type JoinCredentialsParams = Static<typeof JoinCredentialsParamsSchema>;
