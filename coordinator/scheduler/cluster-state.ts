import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { RunKind } from '../plan/run-plan.ts';
import type { AgentRecord, ClusterRecord, Store } from '../store/store.ts';
import { AgentsByAddress } from './agent-for-node.ts';

/**
 * A deploy works towards the desired spec; verify, drill and reset act on what was last deployed successfully, so
 * that a refused or failed change does not make a healthy cluster look broken. Before any deploy succeeded there
 * is only the desired spec.
 */
export function specForRun(cluster: ClusterRecord, kind: RunKind): ClusterSpec {
  return kind === 'deploy' ? cluster.spec : (cluster.appliedSpec ?? cluster.spec);
}

/**
 * The nodes that ran kubeadm init or a join successfully since the cluster was last reset, in the order they did,
 * less those whose Node a deploy deleted since (removed; a replacement under the same name is a member once it joins).
 * Empty while the cluster is not initialized.
 */
export function clusterMembers(store: Store, cluster: ClusterRecord): string[] {
  if (cluster.initializedAt === null) return [];
  const members: string[] = [];
  for (const run of store.runs.list(cluster.name)) {
    if (run.kind === 'reset' && run.state === 'succeeded') members.length = 0;
    if (run.kind !== 'deploy') continue;
    for (const step of store.steps.list(run.id, false)) {
      if (step.state !== 'succeeded') continue;
      if (step.kind === 'kubeadm-init' || step.kind === 'kubeadm-join') {
        if (!members.includes(step.node)) members.push(step.node);
      }
      if (step.kind === 'delete-node') {
        // Read without parameters: a removal's id names the node it deleted ("delete-node/w2").
        const at = members.indexOf(step.id.slice(step.id.indexOf('/') + 1));
        if (at !== -1) members.splice(at, 1);
      }
    }
  }
  return members;
}

/** The spec's nodes that no enrolled (unrevoked) agent reports the address of. */
export function nodesWithoutAgent(spec: ClusterSpec, agents: AgentRecord[]): ClusterSpec['spec']['nodes'] {
  const index = new AgentsByAddress(agents);
  return spec.spec.nodes.filter((n) => !index.has(n.address));
}

/**
 * Nodes of other clusters that are the same machine as a node of the spec: the same address, or an address of the
 * same enrolled agent (a host with two NICs named by different addresses in two specs).
 */
export function otherClusterClaims(
  spec: ClusterSpec,
  clusters: ClusterRecord[],
  agents: AgentRecord[],
): { cluster: string; node: string; address: string; claimedAs: string }[] {
  const index = new AgentsByAddress(agents);
  const machine = (address: string) => index.get(address)?.id ?? `address ${address}`;
  const ours = new Map(spec.spec.nodes.map((n) => [machine(n.address), n]));
  const claims: { cluster: string; node: string; address: string; claimedAs: string }[] = [];
  for (const other of clusters) {
    if (other.name === spec.metadata.name) continue;
    for (const node of [...other.spec.spec.nodes, ...(other.appliedSpec?.spec.nodes ?? [])]) {
      const mine = ours.get(machine(node.address));
      if (!mine || claims.some((c) => c.cluster === other.name && c.claimedAs === mine.name)) continue;
      claims.push({ cluster: other.name, node: node.name, address: node.address, claimedAs: mine.name });
    }
  }
  return claims;
}
