import Type, { type Static } from 'typebox';
import { patterns } from './value-patterns.ts';

export const DrainNodeParamsSchema = Type.Object(
  {
    nodeName: Type.String({ pattern: patterns.hostname }),
    /** kubectl drain --timeout: how long evictions may wait for PodDisruptionBudgets and pods to go. */
    timeoutSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
    /** The node's kubelet is gone: cordon only (nothing on it can finish an eviction). */
    dead: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type DrainNodeParams = Static<typeof DrainNodeParamsSchema>;
