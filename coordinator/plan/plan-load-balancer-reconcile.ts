import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { agentStep } from './planned-steps.ts';
import type { ClusterState, PlannedStep } from './run-plan.ts';
import { loadBalancerNodesOf, loadBalancerParams } from './spec-step-params.ts';

/**
 * keepalived and HAProxy configured again, from the applied spec, on every node that runs them and whose agent is
 * connected and well: one node at a time, lowest keepalived priority first, so the likely VIP holder changes last.
 * A node already right changes nothing; one a change of the control planes went past (its agent was away) gets the
 * current peers and backends. Pure: the agents' health comes in `state`.
 */
export function planLoadBalancerReconcile(spec: ClusterSpec, state: ClusterState): PlannedStep[] {
  const cluster = spec.metadata.name;
  const holders = loadBalancerNodesOf(spec);
  if (holders.length === 0) {
    throw new KubehaError(
      ErrorCode.conflict,
      `cluster ${cluster} has an external endpoint: kubeha runs no keepalived or HAProxy to reconcile`,
    );
  }
  const healthy = state.healthy === undefined ? undefined : new Set(state.healthy);
  const reachable = holders.filter((n) => healthy === undefined || healthy.has(n.name));
  if (reachable.length === 0) {
    throw new KubehaError(
      ErrorCode.conflict,
      `no node running keepalived in cluster ${cluster} has a connected, healthy agent (${holders.map((n) => n.name).join(', ')})`,
    );
  }
  const steps: PlannedStep[] = [];
  let previous: string[] = [];
  for (const node of [...reachable].reverse()) {
    const step = agentStep('load-balancer', node.name, previous, loadBalancerParams(spec, node, holders));
    steps.push(step);
    previous = [step.id];
  }
  return steps;
}
