// The nodes a deploy removes from a running cluster, what it refuses to remove, and the steps that remove them.
import { formatHostPort } from '../../common/format-host-port.ts';
import type { ClusterNodeSpec, ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { agentStep, noRetry, transientRetry } from './planned-steps.ts';
import type { ClusterState, PlannedStep } from './run-plan.ts';
import { controlPlanesOf, loadBalancerNodesOf } from './spec-step-params.ts';

/** A node leaving the cluster, as the applied spec describes it. */
export interface NodeRemoval {
  node: ClusterNodeSpec;
  /** Gone for good: nothing is run on it (its Node is only cordoned, its etcd member removed from another node). */
  dead: boolean;
}

/** How long a drain waits for evictions (PodDisruptionBudgets, pods' grace) before it fails naming what blocked. */
export const drainTimeoutSeconds = 300;

/**
 * The applied spec's nodes that a deploy of `desired` removes: those the desired spec no longer has, and those marked
 * dead (a dead node still in the spec is removed, then joins again as a new machine: a replacement under its name).
 */
export function nodeRemovals(state: ClusterState, desired: ClusterSpec): NodeRemoval[] {
  const dead = new Set(state.dead ?? []);
  const wanted = new Set(desired.spec.nodes.map((n) => n.name));
  return (state.applied?.spec.nodes ?? [])
    .filter((n) => !wanted.has(n.name) || dead.has(n.name))
    .map((node) => ({ node, dead: dead.has(node.name) }));
}

/** Members of an etcd cluster of `size` that must agree: more than half. */
export function etcdQuorum(size: number): number {
  return Math.floor(size / 2) + 1;
}

const names = (nodes: readonly { name: string }[]) => nodes.map((n) => n.name).join(', ');

/**
 * Why the removals a deploy of `desired` makes cannot go ahead; empty when they can. Each reason gives its numbers:
 * how many control planes there are, would stay, and how many etcd needs.
 */
export function removalRefusals(state: ClusterState, desired: ClusterSpec): string[] {
  const problems: string[] = [];
  const applied = state.applied ?? null;
  const appliedNames = new Set(applied?.spec.nodes.map((n) => n.name) ?? []);
  const wanted = new Map(desired.spec.nodes.map((n) => [n.name, n]));

  const unknown = state.members.filter((m) => !wanted.has(m) && !appliedNames.has(m));
  if (unknown.length > 0) {
    problems.push(
      `node(s) ${unknown.join(', ')} joined the cluster but no successful deploy recorded them, so kubeha does not ` +
        'know how to remove them: put them back in the spec and deploy, then remove them',
    );
  }
  const notApplied = (state.dead ?? []).filter((d) => !appliedNames.has(d));
  if (notApplied.length > 0) {
    problems.push(
      `node(s) ${notApplied.join(', ')} are marked dead but are not nodes of the applied spec: only a deployed node can be removed`,
    );
  }
  if (!applied) return problems;

  const dead = new Set(state.dead ?? []);
  for (const node of applied.spec.nodes) {
    const now = wanted.get(node.name);
    if (!now || dead.has(node.name)) continue;
    for (const field of ['address', 'role'] as const) {
      if (now[field] !== node[field]) {
        problems.push(
          `spec.nodes[${node.name}].${field}: ${node[field]} -> ${now[field]} cannot change on a deployed node ` +
            `(to replace the machine: kubeha apply --dead-node ${node.name} when it is gone, or kubeha node remove first)`,
        );
      }
    }
  }

  const removals = nodeRemovals(state, desired);
  const members = new Set(state.members);
  const current = controlPlanesOf(applied).filter((n) => members.has(n.name));
  const leaving = removals.filter((r) => r.node.role === 'control-plane' && members.has(r.node.name));
  const staying = current.filter((n) => !leaving.some((r) => r.node.name === n.name));
  if (leaving.length > 0 && staying.length === 0) {
    problems.push(
      `removing ${names(leaving.map((r) => r.node))} would leave no control plane of the cluster's ${current.length}: ` +
        'at least one must stay to remove the others through (a replacement joins through it afterwards)',
    );
  } else if (leaving.length > 0 && staying.length < etcdQuorum(current.length)) {
    problems.push(
      `removing ${leaving.length} of the ${current.length} control planes (${names(leaving.map((r) => r.node))}) ` +
        `would leave ${staying.length}, fewer than the ${etcdQuorum(current.length)} that etcd's ${current.length} ` +
        'members need for quorum: remove them in separate runs, each after a replacement has joined',
    );
  }

  const dedicated = applied.spec.nodes.filter((n) => n.role === 'load-balancer');
  const dedicatedLeft = desired.spec.nodes.filter((n) => n.role === 'load-balancer');
  if (desired.spec.endpoint.mode !== 'external' && dedicated.length > 0 && dedicatedLeft.length === 0) {
    problems.push(
      `removing every load-balancer node (${names(dedicated)}) would move the VIP onto the control planes, which ` +
        'a running cluster cannot take: keep at least one',
    );
  }
  return problems;
}

/** The nodes behind the endpoint, by name and address: a change of either set makes the load balancers reconfigure. */
export function loadBalancingChanged(applied: ClusterSpec | null | undefined, desired: ClusterSpec): boolean {
  if (!applied) return false;
  const key = (nodes: ClusterNodeSpec[]) =>
    nodes
      .map((n) => `${n.name}@${n.address}`)
      .sort()
      .join(',');
  return (
    key(controlPlanesOf(applied)) !== key(controlPlanesOf(desired)) ||
    key(loadBalancerNodesOf(applied)) !== key(loadBalancerNodesOf(desired))
  );
}

/**
 * keepalived and HAProxy stopped on each live node that held the VIP or ran HAProxy, one at a time, before the others
 * are given the new peer and backend sets: a leaving node drops the VIP while the others still answer for it.
 */
export function leaveLoadBalancerSteps(applied: ClusterSpec, removals: NodeRemoval[], after: string[]): PlannedStep[] {
  const holders = new Set(loadBalancerNodesOf(applied).map((n) => n.name));
  const steps: PlannedStep[] = [];
  let previous = after;
  for (const { node } of removals.filter((r) => !r.dead && holders.has(r.node.name))) {
    const step = agentStep('leave-load-balancer', node.name, previous, { vip: applied.spec.endpoint.vip });
    steps.push(step);
    previous = [step.id];
  }
  return steps;
}

/**
 * The Kubernetes side of each removal, one node after the other, control planes first: drain it from `via` (a control
 * plane that stays), remove its etcd member by the peer URL kubeadm registered (so a dead node's goes too), delete
 * its Node, then `kubeadm reset` on it when it is alive, best effort (a node that does not answer is gone from the
 * cluster all the same). Dedicated load-balancer nodes have no Node: leaving the load balancer is all they do.
 */
export function removalSteps(
  removals: NodeRemoval[],
  via: string,
  after: string[],
): { steps: PlannedStep[]; done: string[] } {
  const steps: PlannedStep[] = [];
  let previous = after;
  const kubernetesNodes = [
    ...removals.filter((r) => r.node.role === 'control-plane'),
    ...removals.filter((r) => r.node.role === 'worker'),
  ];
  for (const { node, dead } of kubernetesNodes) {
    const drain = agentStep(
      'drain-node',
      via,
      previous,
      { nodeName: node.name, timeoutSeconds: drainTimeoutSeconds, dead },
      // A drain that timed out names the pods that blocked it; trying again would only wait as long again.
      noRetry,
      node.name,
    );
    steps.push(drain);
    let last = drain.id;
    if (node.role === 'control-plane') {
      const member = agentStep(
        'remove-etcd-member',
        via,
        [last],
        { memberName: node.name, memberPeerUrl: `https://${formatHostPort(node.address, 2380)}` },
        transientRetry,
        node.name,
      );
      steps.push(member);
      last = member.id;
    }
    const del = agentStep('delete-node', via, [last], { nodeName: node.name }, transientRetry, node.name);
    steps.push(del);
    if (!dead) {
      const reset = agentStep('reset', node.name, [del.id], { nodeName: node.name }, noRetry);
      reset.bestEffort = true;
      steps.push(reset);
    }
    previous = [del.id];
  }
  return { steps, done: previous };
}
