import { ErrorCode, KubehaError } from '../../common/errors.ts';
import {
  type RemoveEtcdMemberParams,
  RemoveEtcdMemberParamsSchema,
} from '../../proto/step-params/remove-etcd-member-params.ts';
import { quorumProblemOfRemoval } from '../kubeadm/etcd-quorum.ts';
import {
  type EtcdMember,
  etcdContainerId,
  etcdctl,
  healthOfMembers,
  parseEndpointStatus,
  parseMemberList,
  urlHost,
} from '../kubeadm/etcdctl.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams } from '../step-execution/step-params.ts';

function parseParams(raw: unknown): RemoveEtcdMemberParams {
  return parseStepParams('remove-etcd-member', RemoveEtcdMemberParamsSchema, raw, (p) => {
    if (p.memberName === undefined && p.memberPeerUrl === undefined) {
      return ['memberName: give the member name, its peer URL, or both'];
    }
    if (p.memberPeerUrl !== undefined && !isIpAddress(urlHost(p.memberPeerUrl))) {
      return ['memberPeerUrl: not https://IP:port'];
    }
    return [];
  });
}

function matches(member: EtcdMember, params: RemoveEtcdMemberParams): boolean {
  // A learner that never started has no name yet: only its peer URL identifies it.
  return (
    (params.memberName !== undefined && member.name === params.memberName) ||
    (params.memberPeerUrl !== undefined && member.peerUrls.some((u) => sameUrl(u, params.memberPeerUrl!)))
  );
}

/** "https://[FD00:0::11]:2380" and "https://[fd00::11]:2380" name the same member. */
function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
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
  const voters = members.filter((m) => !m.isLearner);
  const quorumProblem = quorumProblemOfRemoval(members, await healthOfMembers(host, container, voters), targets);
  if (quorumProblem) throw new KubehaError(ErrorCode.stepRefused, `refusing: ${quorumProblem}`);
  return targets.map((m) => ({
    description: `etcdctl member remove ${describeMember(m)}`,
    apply: async () => {
      await etcdctl(host, container, ['member', 'remove', m.id]);
    },
  }));
}

/**
 * Removes a control plane's etcd member (by name, or by peer URL: a learner that never started, a dead node) through
 * the etcd static pod of the healthy control plane it runs on, with crictl exec and etcdctl. It reads every member's
 * health first and refuses a removal that would leave etcd without quorum.
 */
export const removeEtcdMemberStep = plannedStep<RemoveEtcdMemberParams>({
  kind: 'remove-etcd-member',
  parseParams,
  plan,
});
