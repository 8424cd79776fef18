// Original file: proto/kubeha/v1/agent.proto


export interface FailoverDrillActionParams {
  'action'?: (string);
  'phase'?: (string);
}

export interface FailoverDrillActionParams__Output {
  'action': (string);
  'phase': (string);
}
