import Type, { type Static } from 'typebox';

export const LeaveLoadBalancerParamsSchema = Type.Object(
  {
    /** The cluster's VIP: it must be off this node's interfaces when the step ends (checked as an IP address). */
    vip: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);
export type LeaveLoadBalancerParams = Static<typeof LeaveLoadBalancerParamsSchema>;
