import type { EtcdEndpointHealth, EtcdMember } from './etcdctl.ts';

const quorumOf = (voters: number) => Math.floor(voters / 2) + 1;

function isHealthy(member: EtcdMember, health: readonly EtcdEndpointHealth[]): boolean {
  return health.some((h) => h.healthy && member.clientUrls.includes(h.endpoint));
}

const names = (members: readonly EtcdMember[]) => members.map((m) => m.name || m.id).join(', ');

/**
 * Why removing `targets` would leave etcd without quorum, in words with the numbers, or undefined when it is safe.
 * Learners do not vote: removing one changes nothing; a dead voting member is counted as a member but not as healthy.
 */
export function quorumProblemOfRemoval(
  members: readonly EtcdMember[],
  health: readonly EtcdEndpointHealth[],
  targets: readonly EtcdMember[],
): string | undefined {
  const voters = members.filter((m) => !m.isLearner);
  const healthy = voters.filter((m) => isHealthy(m, health));
  if (healthy.length < quorumOf(voters.length)) {
    return (
      `etcd has no quorum now: ${healthy.length} of ${voters.length} voting members healthy ` +
      `(${names(healthy) || 'none'}), ${quorumOf(voters.length)} needed; a member can only be removed with quorum`
    );
  }
  const leaving = targets.filter((m) => !m.isLearner);
  if (leaving.length === 0) return undefined;
  const remaining = voters.filter((m) => !leaving.includes(m));
  const healthyAfter = remaining.filter((m) => isHealthy(m, health));
  if (healthyAfter.length < quorumOf(remaining.length)) {
    return (
      `removing ${names(leaving)} leaves ${healthyAfter.length} of ${remaining.length} etcd members healthy; ` +
      `etcd needs ${quorumOf(remaining.length)} for quorum`
    );
  }
  return undefined;
}
