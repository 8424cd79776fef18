import { randomBytes } from 'node:crypto';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { ClusterState } from '../plan/run-plan.ts';
import { AgentsByAddress } from '../scheduler/agent-for-node.ts';
import type { AgentRecord } from '../store/store.ts';

/** "20261203-061512-a3f0": when the run started (UTC), sortable, and four hex digits for two runs in one second. */
export function snapshotIdAt(now: number, suffix: string = randomBytes(2).toString('hex')): string {
  const iso = new Date(now).toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${suffix}`;
}

/** What the planner of an etcd-snapshot run needs besides the members: the snapshot's id and the nodes it may use. */
export function etcdSnapshotRunState(
  spec: ClusterSpec,
  agents: readonly AgentRecord[],
  now: number,
): Pick<ClusterState, 'healthy' | 'snapshotId'> {
  return { healthy: nodesWithHealthyAgents(spec, agents), snapshotId: snapshotIdAt(now) };
}

/** The spec's nodes whose agent is connected and says it is well. */
export function nodesWithHealthyAgents(spec: ClusterSpec, agents: readonly AgentRecord[]): string[] {
  const index = new AgentsByAddress(agents);
  return spec.spec.nodes
    .filter((n) => {
      const agent = index.get(n.address);
      return agent?.connected === true && (agent.health?.agentOk ?? true);
    })
    .map((n) => n.name);
}
