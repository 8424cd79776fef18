import Type, { type Static } from 'typebox';

export const FailoverDrillActionParamsSchema = Type.Object(
  {
    action: Type.Union([Type.Literal('stop-apiserver'), Type.Literal('stop-haproxy'), Type.Literal('stop-keepalived')]),
    phase: Type.Union([Type.Literal('apply'), Type.Literal('restore')]),
  },
  { additionalProperties: false },
);
export type FailoverDrillActionParams = Static<typeof FailoverDrillActionParamsSchema>;
