// Original file: proto/kubeha/v1/agent.proto


export interface Ack {
  'run_id'?: (string);
  'step_id'?: (string);
  'attempt'?: (number);
}

export interface Ack__Output {
  'run_id': (string);
  'step_id': (string);
  'attempt': (number);
}
