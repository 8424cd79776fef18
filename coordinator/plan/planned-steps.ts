// How a plan's steps are made: ids, timeouts, retries, and the agent step kind behind each phase.
import type { AgentStepKind, PlannedStepParams } from '../../proto/step-params/step-params-by-kind.ts';
import { coordinatorNode, type PlannedStep, type RetryPolicy, type StepPhase } from './run-plan.ts';

/** Deterministic steps: a retry cannot change the answer. */
export const noRetry: RetryPolicy = { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 };
/** Transient failures (a package mirror hiccup, an agent reconnecting): 3 attempts, 5 s then 10 s apart. */
export const transientRetry: RetryPolicy = { maxAttempts: 3, initialBackoffMs: 5_000, maxBackoffMs: 60_000 };

const timeoutSeconds: Record<StepPhase, number> = {
  preflight: 120,
  'cross-node-checks': 120,
  'host-prep': 600,
  'container-runtime': 900,
  'kube-packages': 900,
  'load-balancer': 300,
  'kubeadm-init': 900,
  cni: 600,
  'join-control-plane': 900,
  'join-worker': 900,
  verify: 600,
  'agents-connected': 60,
  'failover-drill': 900,
  reset: 600,
  'leave-load-balancer': 300,
  // The drain's own timeout (drainTimeoutSeconds) and the Node's cordon fit well within.
  'drain-node': 900,
  'remove-etcd-member': 300,
  'delete-node': 120,
};

type CoordinatorPhase = 'cross-node-checks' | 'agents-connected' | 'failover-drill';
export type AgentPhase = Exclude<StepPhase, CoordinatorPhase>;

/** The agent step kind behind each phase (the RunStep params oneof field in kebab-case). */
const agentKind = {
  preflight: 'preflight',
  'host-prep': 'host-prep',
  'container-runtime': 'container-runtime',
  'kube-packages': 'kube-packages',
  'load-balancer': 'load-balancer',
  'kubeadm-init': 'kubeadm-init',
  cni: 'cni',
  'join-control-plane': 'kubeadm-join',
  'join-worker': 'kubeadm-join',
  verify: 'verify',
  reset: 'kubeadm-reset',
  'leave-load-balancer': 'leave-load-balancer',
  'drain-node': 'drain-node',
  'remove-etcd-member': 'remove-etcd-member',
  'delete-node': 'delete-node',
} as const satisfies Record<AgentPhase, AgentStepKind>;

export type ParamsOf<P extends AgentPhase> = PlannedStepParams<(typeof agentKind)[P]>;

/** `{ name: value }` when the value is set, else nothing: an unset optional parameter is left out, never sent empty. */
export function ifSet<N extends string, V>(name: N, value: V | undefined): { [key in N]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [key in N]?: V };
}

/**
 * Ids are "<phase>/<node>"; the coordinator's own steps are just "<phase>". A step that acts on another node than the
 * one it runs on (a drain runs on a control plane) is named after the node it acts on.
 */
export function stepId(phase: StepPhase, node?: string): string {
  return node === undefined ? phase : `${phase}/${node}`;
}

export function agentStep<P extends AgentPhase>(
  phase: P,
  node: string,
  dependsOn: string[],
  params: ParamsOf<P>,
  retry: RetryPolicy = transientRetry,
  actsOn: string = node,
): PlannedStep {
  return {
    id: stepId(phase, actsOn),
    kind: agentKind[phase],
    phase,
    runsOn: 'agent',
    node,
    dependsOn,
    timeoutSeconds: timeoutSeconds[phase],
    retry,
    params,
  };
}

export function coordinatorStep(
  phase: CoordinatorPhase,
  dependsOn: string[],
  params: Record<string, unknown>,
  retry: RetryPolicy,
): PlannedStep {
  return {
    id: stepId(phase),
    kind: phase,
    phase,
    runsOn: 'coordinator',
    node: coordinatorNode,
    dependsOn,
    timeoutSeconds: timeoutSeconds[phase],
    retry,
    params,
  };
}
