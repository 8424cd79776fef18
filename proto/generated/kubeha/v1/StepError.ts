// Original file: proto/kubeha/v1/agent.proto


export interface StepError {
  'code'?: (string);
  'message'?: (string);
  'command'?: (string);
  'exit_code'?: (number);
  'stderr_tail'?: (string);
  'deterministic'?: (boolean);
}

export interface StepError__Output {
  'code': (string);
  'message': (string);
  'command': (string);
  'exit_code': (number);
  'stderr_tail': (string);
  'deterministic': (boolean);
}
