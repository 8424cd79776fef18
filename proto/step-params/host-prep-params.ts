import Type, { type Static } from 'typebox';
import { kubeadmPatterns, NodeRoleSchema, patterns } from './value-patterns.ts';

export const HostPrepParamsSchema = Type.Object(
  {
    hostname: Type.String({ pattern: patterns.hostname }),
    role: NodeRoleSchema,
    nodes: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: patterns.hostname }),
          address: Type.String({ maxLength: 45 }),
          role: NodeRoleSchema,
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    selinux: Type.Union([Type.Literal('permissive'), Type.Literal('enforcing')], { default: 'permissive' }),
    firewall: Type.Union([Type.Literal('managed'), Type.Literal('disabled')], { default: 'managed' }),
    cni: Type.Union([Type.Literal('flannel'), Type.Literal('calico')], { default: 'flannel' }),
    /** The cluster's pod network; its traffic is trusted (forwarded) by firewalld. Empty: the CNI interfaces only. */
    podSubnet: Type.String({ pattern: `^$|${kubeadmPatterns.cidr}`, maxLength: 49, default: '' }),
    /** The HAProxy frontend port on this node; 0 when it runs no HAProxy. */
    lbPort: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
    /** keepalived runs on this node (it may hold the VIP). */
    keepalived: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type HostPrepParams = Static<typeof HostPrepParamsSchema>;
