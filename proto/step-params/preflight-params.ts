import Type, { type Static } from 'typebox';
import { NodeRoleSchema, patterns } from './value-patterns.ts';

export const PreflightParamsSchema = Type.Object(
  {
    role: NodeRoleSchema,
    kubernetesVersion: Type.String({ pattern: patterns.kubernetesVersion }),
    /** The HAProxy frontend port on this node; 0 when it runs no HAProxy. */
    lbPort: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
    /** The node is already in the cluster (a re-run): its own ports and manifests are expected. */
    alreadyMember: Type.Boolean({ default: false }),
    /** The operator's spec.hostPolicy.allowCgroupV1: a cgroup v1 host with Kubernetes >= 1.35 is a warning, not a refusal. */
    allowCgroupV1: Type.Boolean({ default: false }),
    /** dnf may replace what conflicts with containerd.io (container-runtime installs with --allowerasing). */
    allowErasing: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type PreflightParams = Static<typeof PreflightParamsSchema>;
