// Original file: proto/kubeha/v1/agent.proto


export interface CancelStep {
  'run_id'?: (string);
  'step_id'?: (string);
  'attempt'?: (number);
}

export interface CancelStep__Output {
  'run_id': (string);
  'step_id': (string);
  'attempt': (number);
}
