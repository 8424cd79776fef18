import type { ErrorCode } from './errors.ts';
/** Domain shapes of step progress, shared by the agent and the coordinator. The proto's are converted at the edge. */
export type StepOutcome = 'succeeded' | 'failed' | 'cancelled' | 'timed-out';

export interface StepFailure {
  code: ErrorCode;
  message: string;
  command?: string;
  exitCode?: number;
  stderrTail?: string;
  /** True when a retry cannot help: invalid parameters, a failed preflight. */
  deterministic: boolean;
}

export interface StepResult {
  outcome: StepOutcome;
  changed: boolean;
  error?: StepFailure;
  outputs: Record<string, string>;
  paramsChecksum: string;
  /** What changed, or in a dry run what would change. */
  changes: string[];
}

export interface StepRef {
  runId: string;
  stepId: string;
  attempt: number;
}

export type StepEventBody =
  | { type: 'started'; stepKind: string; paramsChecksum: string }
  | { type: 'log'; stream: 'stdout' | 'stderr' | 'info'; text: string }
  | { type: 'finished'; result: StepResult };

export type StepEventReport = StepRef & { atMs: number } & StepEventBody;
