// Original file: proto/kubeha/v1/agent.proto


export interface StepStarted {
  'step_kind'?: (string);
  'params_checksum'?: (string);
}

export interface StepStarted__Output {
  'step_kind': (string);
  'params_checksum': (string);
}
