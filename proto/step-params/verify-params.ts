import Type, { type Static } from 'typebox';
import { kubeadmPatterns, NodeRoleSchema, patterns } from './value-patterns.ts';

export const VerifyParamsSchema = Type.Object(
  {
    controlPlaneEndpoint: Type.String({ pattern: kubeadmPatterns.endpoint }),
    nodes: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: patterns.hostname }),
          address: Type.String({ pattern: kubeadmPatterns.address }),
          role: NodeRoleSchema,
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    nodeName: Type.Optional(Type.String({ pattern: patterns.hostname })),
    /** agnhost's image for the cross-node pod traffic check; absent: the check is skipped and the report says so. */
    podProbeImage: Type.Optional(Type.String({ pattern: patterns.image })),
  },
  { additionalProperties: false },
);
export type VerifyParams = Static<typeof VerifyParamsSchema>;
