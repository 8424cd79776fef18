import type { StepOutcome } from '../../common/step-events.ts';

/** What the scheduler tells whoever watches it (the coordinator's metrics); every call is cheap and never throws. */
export interface SchedulerObserver {
  /** One pass over the unfinished runs took this long. */
  passFinished(seconds: number): void;
  /** A step ended an attempt; `seconds` from its dispatch (or start, for the coordinator's own steps) to its result. */
  stepAttemptFinished(kind: string, outcome: StepOutcome, seconds: number): void;
  /** A failed attempt will be retried. */
  stepRetrying(kind: string): void;
  /** A failed attempt, by its error code (retried or not). */
  stepFailed(kind: string, code: string): void;
}
