import Type, { type Static } from 'typebox';
import { patterns } from './value-patterns.ts';

export const KubeadmResetParamsSchema = Type.Object(
  { nodeName: Type.String({ pattern: patterns.hostname }) },
  { additionalProperties: false },
);
export type KubeadmResetParams = Static<typeof KubeadmResetParamsSchema>;
