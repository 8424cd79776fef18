// Original file: proto/kubeha/v1/agent.proto


export interface StepRef {
  'run_id'?: (string);
  'step_id'?: (string);
  'attempt'?: (number);
}

export interface StepRef__Output {
  'run_id': (string);
  'step_id': (string);
  'attempt': (number);
}
