import type { ErrorCode } from '../../../common/errors.ts';
import type { NodeFacts } from '../../../proto/convert.ts';
import type { ClusterSpec } from '../../cluster-spec/cluster-spec.ts';
import type { DrillOptions, DrillRun } from '../../drill/drive-drill.ts';
import type { AgentRecord, StepRecord } from '../../store/store.ts';

/** What a step that runs in the coordinator may read of its run, and act on. */
export interface CoordinatorStepContext {
  spec: ClusterSpec;
  step: StepRecord;
  /** The facts reported by the agent that serves the node, if one does. */
  factsOf(node: string): NodeFacts | undefined;
  /** The agent that serves the node, as the coordinator's records have it now (connected, last heartbeat). */
  agentOf(node: string): AgentRecord | undefined;
  /** The cluster CA, when the coordinator knows it. */
  clusterCaPem(): string | undefined;
  /** The run, as the failover drill acts on it. */
  drillRun: DrillRun;
  drillOptions: DrillOptions;
}

export interface CoordinatorStepVerdict {
  /** Lines for the run's log, written with the verdict. */
  log: string[];
  /** Why the step failed; absent when it succeeded. Failures here are final: running again would not help. */
  failure?: { code: ErrorCode; message: string };
  changed: boolean;
  /** Outputs to keep, also when the step failed. */
  outputs?: Record<string, string>;
}

/**
 * A step kind the coordinator runs itself, never sent to an agent. A check answers at once, in the scheduler's
 * pass; work that takes minutes runs in the background, beside the scheduler, and answers when it ends.
 */
export type CoordinatorStepDefinition =
  | { kind: string; mode: 'check'; run(context: CoordinatorStepContext): CoordinatorStepVerdict }
  | { kind: string; mode: 'background'; run(context: CoordinatorStepContext): Promise<CoordinatorStepVerdict> };
