import type { StepFailure } from '../../common/step-events.ts';
import type { NodeFacts } from '../../proto/convert.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { StoredBootstrapToken } from '../pki/bootstrap-tokens.ts';
import type { RetryPolicy, RunKind } from '../plan/run-plan.ts';

export interface AgentHealth {
  agentOk: boolean;
  vrrpHealthy: boolean;
  vrrpReason: string;
  probeAgeMs: number;
}

export interface AgentRecord {
  id: string;
  hostname: string;
  agentVersion: string;
  facts: NodeFacts;
  certificateSerial: string;
  /** Issued by a renewal and not yet used: opens a session once, which makes it the certificate's serial. */
  pendingCertificateSerial?: string | null;
  /** When the current client certificate expires (ms); null for agents enrolled before it was recorded. */
  certificateNotAfter?: number | null;
  enrolledAt: number;
  enrolledWithTokenId: string;
  revokedAt: number | null;
  connected: boolean;
  lastHeartbeatAt: number | null;
  holdsVip: boolean;
  health: AgentHealth | null;
}

export type AgentUpdate = Partial<
  Pick<
    AgentRecord,
    | 'hostname'
    | 'agentVersion'
    | 'facts'
    | 'connected'
    | 'lastHeartbeatAt'
    | 'holdsVip'
    | 'health'
    | 'revokedAt'
    | 'certificateSerial'
    | 'pendingCertificateSerial'
    | 'certificateNotAfter'
  >
>;

/** What one heartbeat says of an agent. */
export interface AgentHeartbeat {
  at: number;
  holdsVip: boolean;
  health: AgentHealth | null;
}

export interface AgentStore {
  /** The agent as last heard: heartbeats held in memory are read back at once. */
  get(id: string): AgentRecord | undefined;
  list(): AgentRecord[];
  update(id: string, update: AgentUpdate): void;
  /**
   * Records a heartbeat. Written to the database at once when it changes what an operator sees (the VIP, the health
   * verdict); otherwise held in memory until flushHeartbeats(), the agent's next update or its disconnection.
   */
  heartbeat(id: string, beat: AgentHeartbeat): void;
  /** Writes every heartbeat held in memory, in one transaction; returns how many were written. */
  flushHeartbeats(): number;
  markAllDisconnected(): void;
  /** Agents enrolled and not revoked. */
  countEnrolled(): number;
}

export interface TokenStore {
  insert(token: StoredBootstrapToken): void;
  get(id: string): StoredBootstrapToken | undefined;
  list(): StoredBootstrapToken[];
  delete(id: string): boolean;
}

export interface EnrollmentRecord {
  tokenId: string;
  tokenSecret: string;
  now: number;
  agent: Omit<AgentRecord, 'enrolledWithTokenId'>;
}

export interface ClusterRecord {
  name: string;
  /** The desired spec: the last one applied by the operator, whether or not a deploy of it succeeded. */
  spec: ClusterSpec;
  /** The spec of the last deploy run that succeeded; null before the first one (and after a reset). */
  appliedSpec: ClusterSpec | null;
  appliedAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** When kubeadm init last succeeded; null before (and after a reset). */
  initializedAt: number | null;
}

export interface ClusterStore {
  get(name: string): ClusterRecord | undefined;
  list(): ClusterRecord[];
  put(record: ClusterRecord): void;
  delete(name: string): boolean;
}

/** A value the scheduler keeps per cluster: join credentials (secret), the CA hash, outputs an operator may fetch. */
export interface ClusterValue {
  value: string;
  secret: boolean;
  updatedAt: number;
}

export interface ClusterValueStore {
  get(cluster: string, name: string): ClusterValue | undefined;
  all(cluster: string): Map<string, ClusterValue>;
  set(cluster: string, name: string, value: ClusterValue): void;
  delete(cluster: string, name: string): void;
}

/** A run is running until it ends; cancelling one ends it at once (its in-flight steps are told to stop). */
export type RunState = 'running' | 'succeeded' | 'failed' | 'cancelled';

const finishedRunStates: ReadonlySet<string> = new Set<RunState>(['succeeded', 'failed', 'cancelled']);

export function isRunFinished(state: string): boolean {
  return finishedRunStates.has(state);
}

export interface RunRecord {
  id: string;
  cluster: string;
  kind: RunKind;
  state: RunState;
  createdAt: number;
  finishedAt: number | null;
  /** Why the run failed or was cancelled. */
  error: string | null;
}

export type StepState =
  | 'pending'
  | 'preparing'
  | 'dispatched'
  | 'running'
  | 'retry-wait'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'cancelled';

const terminalStepStates: ReadonlySet<string> = new Set<StepState>(['succeeded', 'failed', 'skipped', 'cancelled']);

/** The states a step never leaves. */
export function isTerminal(state: string): boolean {
  return terminalStepStates.has(state);
}

export interface StepRecord {
  runId: string;
  id: string;
  /** Insertion order: planned steps first, then the ones the scheduler adds at run time. */
  seq: number;
  kind: string;
  node: string;
  dependsOn: string[];
  timeoutSeconds: number;
  retry: RetryPolicy;
  /** Without secrets; they are added when the step is sent. */
  params: Record<string, unknown>;
  concurrencyGroup: { name: string; limit: number } | null;
  /** A failure is reported but does not fail the run (deleting a join token that expires anyway). */
  bestEffort: boolean;
  /** For a step the scheduler added for another node (join credentials, cleanup): that node. */
  forNode: string | null;
  state: StepState;
  attempt: number;
  agentId: string | null;
  dispatchedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  deadlineAt: number | null;
  nextAttemptAt: number | null;
  /** When the step's agent lost its session while the step was out; null otherwise. */
  disconnectedAt: number | null;
  error: StepFailure | null;
  changed: boolean;
  outputs: Record<string, string>;
}

/** The fields of a step that change as it runs. */
type StepProgressField =
  | 'state'
  | 'attempt'
  | 'agentId'
  | 'dispatchedAt'
  | 'startedAt'
  | 'finishedAt'
  | 'deadlineAt'
  | 'nextAttemptAt'
  | 'disconnectedAt'
  | 'error'
  | 'changed'
  | 'outputs';

/** The progress fields of a step that has not run yet, for a step entering a run. */
export function notStartedStep(): Pick<StepRecord, StepProgressField> {
  return {
    state: 'pending',
    attempt: 0,
    agentId: null,
    dispatchedAt: null,
    startedAt: null,
    finishedAt: null,
    deadlineAt: null,
    nextAttemptAt: null,
    disconnectedAt: null,
    error: null,
    changed: false,
    outputs: {},
  };
}

export type StepUpdate = Partial<Pick<StepRecord, 'dependsOn' | StepProgressField>>;

export type RunEventType = 'run' | 'step' | 'log';

/** One entry of a run's event log; `id` is the SSE event id, increasing across all runs. */
export interface RunEvent {
  id: number;
  runId: string;
  at: number;
  type: RunEventType;
  stepId: string | null;
  node: string | null;
  attempt: number | null;
  state: string | null;
  message: string;
}

export interface RunStore {
  insert(run: RunRecord): void;
  get(id: string): RunRecord | undefined;
  list(cluster?: string): RunRecord[];
  /** Runs still running, oldest first. */
  unfinished(): RunRecord[];
  update(id: string, update: Partial<Pick<RunRecord, 'state' | 'finishedAt' | 'error'>>): void;
  /** How many runs there are of each kind and state. */
  countByKindAndState(): { kind: string; state: string; count: number }[];
}

export interface StepStore {
  insert(steps: StepRecord[]): void;
  /** The run's steps in insertion order; without their parameters (`{}`) when `withParams` is false. */
  list(runId: string, withParams?: boolean): StepRecord[];
  /** Also keeps the error of the step's current attempt, when the update sets one, among its attempts' errors. */
  update(runId: string, id: string, update: StepUpdate): void;
  /** Per step id: the error of each attempt that failed (a retried one too), oldest first. */
  attemptErrors(runId: string): Map<string, StepAttemptError[]>;
}

export interface StepAttemptError {
  attempt: number;
  finishedAt: number | null;
  /** When the next attempt was due; null when none followed (the step failed for good or was cancelled). */
  nextAttemptAt: number | null;
  error: StepFailure;
}

export interface RunEventStore {
  append(event: Omit<RunEvent, 'id'>): RunEvent;
  /** Events of the run with an id above `afterId`, in order. */
  after(runId: string, afterId: number, limit?: number): RunEvent[];
  /** The id of the run's latest event; 0 when it has none. */
  lastId(runId: string): number;
}

/**
 * Which agent serves which node. An approval says an agent may serve nodes of that name (a bootstrap token scoped to
 * the node, or the operator's `kubeha agents approve`); a binding says it does, in one cluster, and no other agent may.
 */
export interface NodeBindingStore {
  /** The node a bootstrap token is scoped to. */
  setTokenScope(tokenId: string, node: string): void;
  tokenScope(tokenId: string): string | undefined;
  approve(agentId: string, node: string, now: number): void;
  /** Agents approved for nodes of this name. */
  approvedFor(node: string): string[];
  bound(cluster: string, node: string): string | undefined;
  bind(cluster: string, node: string, agentId: string, now: number): void;
  list(cluster: string): { node: string; agentId: string; boundAt: number }[];
  /** The node is no longer the agent's: it left the cluster, or its machine is gone. */
  unbind(cluster: string, node: string): void;
  /** Drops the agent's approvals and bindings everywhere (revocation). */
  removeAgent(agentId: string): void;
}

/** An etcd snapshot the coordinator holds (its file lives under the coordinator's data directory). */
export interface SnapshotRecord {
  id: string;
  cluster: string;
  /** The control plane whose etcd member saved it. */
  node: string;
  takenAtMs: number;
  sizeBytes: number;
  /** Of the whole file, hex. */
  sha256: string;
  /** From `etcdutl snapshot status -w json`. */
  revision: number;
  totalKeys: number;
  hash: number;
  /** The run that took it. */
  runId: string | null;
}

export interface SnapshotRecordStore {
  insert(record: SnapshotRecord): void;
  /** Newest first. */
  list(cluster: string): SnapshotRecord[];
  get(cluster: string, id: string): SnapshotRecord | undefined;
  delete(cluster: string, id: string): boolean;
}

/** Persistence for the coordinator. Nothing outside store/ touches SQL. */
export interface Store {
  readonly bindings: NodeBindingStore;
  readonly agents: AgentStore;
  readonly tokens: TokenStore;
  readonly clusters: ClusterStore;
  readonly clusterValues: ClusterValueStore;
  readonly runs: RunStore;
  readonly steps: StepStore;
  readonly events: RunEventStore;
  readonly snapshots: SnapshotRecordStore;
  /** Runs fn in one write transaction; nested calls join the outer one. */
  transaction<T>(fn: () => T): T;
  /** Checks and uses the token and records the agent in one transaction; throws a KubehaError when the token is unusable. */
  enrollAgent(record: EnrollmentRecord): AgentRecord;
  close(): void;
}
