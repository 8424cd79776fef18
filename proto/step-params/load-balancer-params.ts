import Type, { type Static } from 'typebox';

/** The HAProxy frontend port when the spec names none. */
export const defaultLbPort = 16443;

export const LoadBalancerParamsSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('haproxy-keepalived'), Type.Literal('keepalived')]),
    nodeName: Type.String({ minLength: 1 }),
    vip: Type.String({ minLength: 1 }),
    vipPrefixLength: Type.Integer(),
    interface: Type.String(),
    virtualRouterId: Type.Integer(),
    priority: Type.Integer(),
    /** Secret. */
    authPass: Type.String(),
    multicast: Type.Boolean({ default: false }),
    unicastSrcIp: Type.String({ default: '' }),
    unicastPeers: Type.Array(Type.String(), { default: [] }),
    lbPort: Type.Integer({ default: defaultLbPort }),
    backends: Type.Array(
      Type.Object({ name: Type.String(), address: Type.String(), role: Type.Optional(Type.String()) }),
      { default: [] },
    ),
    checkIntervalS: Type.Integer({ default: 1 }),
    checkFall: Type.Integer({ default: 2 }),
    checkRise: Type.Integer({ default: 2 }),
    checkWeight: Type.Integer({ default: 0 }),
    advertIntS: Type.Integer({ default: 1 }),
    /** false (the default) renders nopreempt: a node coming back does not take the VIP back. */
    preempt: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type LoadBalancerParams = Static<typeof LoadBalancerParamsSchema>;
