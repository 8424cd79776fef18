import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import {
  type EtcdMember,
  etcdContainerId,
  etcdctl,
  parseEndpointStatus,
  parseMemberList,
  urlHost,
} from '../kubeadm/etcdctl.ts';
import { kubeadmPatterns } from '../kubeadm/kubeadm-patterns.ts';
import { type PlannedChange, plannedStep, type StepContext } from './step.ts';
import { isIpAddress, parseStepParams, patterns } from './step-params.ts';

const RemoveEtcdMemberParamsSchema = Type.Object(
  {
    memberName: Type.Optional(Type.String({ pattern: patterns.hostname })),
    memberPeerAddress: Type.Optional(Type.String({ pattern: kubeadmPatterns.address })),
  },
  { additionalProperties: false },
);

export type RemoveEtcdMemberParams = Static<typeof RemoveEtcdMemberParamsSchema>;

function parseParams(raw: unknown): RemoveEtcdMemberParams {
  return parseStepParams('remove-etcd-member', RemoveEtcdMemberParamsSchema, raw, (p) => {
    if (p.memberName === undefined && p.memberPeerAddress === undefined) {
      return ['memberName: give the member name, its peer address, or both'];
    }
    if (p.memberPeerAddress !== undefined && !isIpAddress(p.memberPeerAddress)) {
      return ['memberPeerAddress: not an IP address'];
    }
    return [];
  });
}

function matches(member: EtcdMember, params: RemoveEtcdMemberParams): boolean {
  // A learner that never started has no name yet: only its peer URL identifies it.
  return (
    (params.memberName !== undefined && member.name === params.memberName) ||
    (params.memberPeerAddress !== undefined && member.peerUrls.some((u) => urlHost(u) === params.memberPeerAddress))
  );
}

function describeMember(m: EtcdMember): string {
  return `${m.id} (${m.name || 'unstarted'}, ${m.peerUrls.join(',')}${m.isLearner ? ', learner' : ''})`;
}

async function plan(ctx: StepContext<RemoveEtcdMemberParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const container = await etcdContainerId(host);
  const members = parseMemberList((await etcdctl(host, container, ['member', 'list', '-w', 'json'])).stdout);
  const targets = members.filter((m) => matches(m, params));
  if (targets.length === 0) return [];
  const [local] = parseEndpointStatus((await etcdctl(host, container, ['endpoint', 'status', '-w', 'json'])).stdout);
  if (targets.some((m) => m.id === local?.memberId)) {
    throw new KubehaError(
      ErrorCode.stepFailed,
      'refusing to remove the etcd member of the control plane this step runs on; run it on another healthy control plane',
    );
  }
  if (members.filter((m) => !m.isLearner && !targets.includes(m)).length === 0) {
    throw new KubehaError(ErrorCode.stepFailed, 'refusing to remove the last voting etcd member');
  }
  return targets.map((m) => ({
    description: `etcdctl member remove ${describeMember(m)}`,
    apply: async () => {
      await etcdctl(host, container, ['member', 'remove', m.id]);
    },
  }));
}

/**
 * Removes a failed control plane's etcd member (by name, or by peer address for a learner that never started)
 * through the etcd static pod of the healthy control plane it runs on, with crictl exec and etcdctl.
 */
export const removeEtcdMemberStep = plannedStep<RemoveEtcdMemberParams>({
  kind: 'remove-etcd-member',
  parseParams,
  plan,
});
