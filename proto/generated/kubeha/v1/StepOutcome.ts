// Original file: proto/kubeha/v1/agent.proto

export const StepOutcome = {
  STEP_OUTCOME_UNSPECIFIED: 'STEP_OUTCOME_UNSPECIFIED',
  STEP_OUTCOME_SUCCEEDED: 'STEP_OUTCOME_SUCCEEDED',
  STEP_OUTCOME_FAILED: 'STEP_OUTCOME_FAILED',
  STEP_OUTCOME_CANCELLED: 'STEP_OUTCOME_CANCELLED',
  STEP_OUTCOME_TIMED_OUT: 'STEP_OUTCOME_TIMED_OUT',
} as const;

export type StepOutcome =
  | 'STEP_OUTCOME_UNSPECIFIED'
  | 0
  | 'STEP_OUTCOME_SUCCEEDED'
  | 1
  | 'STEP_OUTCOME_FAILED'
  | 2
  | 'STEP_OUTCOME_CANCELLED'
  | 3
  | 'STEP_OUTCOME_TIMED_OUT'
  | 4

export type StepOutcome__Output = typeof StepOutcome[keyof typeof StepOutcome]
