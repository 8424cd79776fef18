// Original file: proto/kubeha/v1/agent.proto


export interface StepLogLine {
  'stream'?: (string);
  'text'?: (string);
}

export interface StepLogLine__Output {
  'stream': (string);
  'text': (string);
}
