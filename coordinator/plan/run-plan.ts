import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';

/** `plan` is the read-only part of a deploy: preflight, the cross-node checks and every step's dry run. */
export type RunKind =
  | 'deploy'
  | 'plan'
  | 'verify'
  | 'drill-failover'
  | 'reset'
  | 'certs-renew'
  | 'etcd-snapshot'
  | 'etcd-restore'
  | 'load-balancer-reconcile';

export type StepPhase =
  | 'preflight'
  | 'cross-node-checks'
  | 'host-prep'
  | 'container-runtime'
  | 'kube-packages'
  | 'load-balancer'
  | 'kubeadm-init'
  | 'cni'
  | 'join-control-plane'
  | 'join-worker'
  | 'verify'
  | 'agents-connected'
  | 'failover-drill'
  | 'reset'
  | 'leave-load-balancer'
  | 'drain-node'
  | 'remove-etcd-member'
  | 'delete-node';

/** Phases of the runs planned in a file of their own (plan-certs-renew.ts, plan-etcd-snapshot.ts). */
export type OwnPlannerPhase =
  | 'certs-renew'
  | 'etcd-snapshot'
  | 'etcd-restore-stop'
  | 'etcd-restore'
  | 'etcd-restore-add'
  | 'etcd-restore-join'
  | 'etcd-restore-start';

/** The `node` of steps the coordinator performs itself. */
export const coordinatorNode = 'coordinator';

/** How the scheduler treats a failure of the step. */
export interface RetryPolicy {
  /** Attempts in all, including the first. 1 = never retried. */
  maxAttempts: number;
  /** Backoff before attempt n+1 is initialBackoffMs * 2^(n-1), capped at maxBackoffMs. */
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** One node of a run's DAG: a step kind bound to one node, with the step ids it waits for. */
export interface PlannedStep {
  /** Stable within the run, readable: "host-prep/k8s-master1", "join-control-plane/k8s-master2". */
  id: string;
  /**
   * What runs: for runsOn "agent" the agent's step kind, i.e. the RunStep params oneof field in kebab-case
   * ("kubeadm-join"), ready for runStepFor(); for runsOn "coordinator" a coordinator-side kind ("cross-node-checks",
   * "failover-drill").
   */
  kind: string;
  /** The id's prefix, naming the step's place in the flow: "join-control-plane" and "join-worker" are both kind "kubeadm-join". */
  phase: StepPhase | OwnPlannerPhase;
  /** "agent": dispatched to the agent serving `node`; "coordinator": the scheduler performs it itself. */
  runsOn: 'agent' | 'coordinator';
  /** The spec node the step runs on; coordinatorNode for runsOn "coordinator". */
  node: string;
  dependsOn: string[];
  timeoutSeconds: number;
  retry: RetryPolicy;
  /**
   * camelCase parameters of the agent step (see proto/kubeha/v1/agent.proto), without secrets; the scheduler adds
   * just-in-time credentials (join tokens, certificate keys, auth_pass) when it dispatches the step.
   */
  params: Record<string, unknown>;
  /** Steps of the same group never run at the same time beyond `concurrency` (e.g. worker joins). */
  concurrencyGroup?: { name: string; limit: number };
  /** Its failure is reported but does not fail the run. */
  bestEffort?: boolean;
}

export interface RunPlan {
  kind: RunKind;
  cluster: string;
  steps: PlannedStep[];
}

/** What the coordinator's records say about the cluster a plan is for. */
export interface ClusterState {
  /** Nodes that ran kubeadm init or joined since the cluster was last reset (and were not removed since). */
  members: readonly string[];
  /** The spec of the last deploy that succeeded: where the nodes leaving the spec are described. */
  applied?: ClusterSpec | null;
  /** Nodes leaving the cluster that are gone for good: nothing is run on them. */
  dead?: readonly string[];
  /** When the run was asked for (ms since the epoch): what a certificate renewal must renew is what is older. */
  requestedAt?: number;
  /** Nodes whose agent is connected and well, when the run's planner needs them; absent: all are taken as such. */
  healthy?: readonly string[];
  /**
   * Nodes whose agent has been gone a while when a deploy starts. A deployed node of these that the spec leaves as it
   * is (same address and role) is left out of the run: nothing of the change needs it, and its load balancer, if
   * it runs one, is reconfigured when its agent returns (coordinator/load-balancer/load-balancer-drift.ts).
   */
  away?: readonly string[];
  /** The id an etcd-snapshot run keeps its snapshot under, made when the run starts. */
  snapshotId?: string;
  /** An etcd-restore run: the snapshot it restores, as the coordinator stored it. */
  restore?: EtcdRestoreState;
}

/** The planner's signature: pure, no I/O. */

export type PlanRun = (kind: RunKind, spec: ClusterSpec, state?: ClusterState) => RunPlan;

export interface EtcdRestoreState {
  /** Names the parking directories and markers on the nodes, and the restored cluster's token: the run's own. */
  restoreId: string;
  snapshotId: string;
  snapshotSize: number;
  snapshotSha256: string;
  /** RFC 3339. */
  snapshotTakenAt: string;
  /** Restore even though etcd has quorum. */
  force: boolean;
}
