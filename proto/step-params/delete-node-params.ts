import Type, { type Static } from 'typebox';
import { patterns } from './value-patterns.ts';

export const DeleteNodeParamsSchema = Type.Object(
  { nodeName: Type.String({ pattern: patterns.hostname }) },
  { additionalProperties: false },
);
export type DeleteNodeParams = Static<typeof DeleteNodeParamsSchema>;
