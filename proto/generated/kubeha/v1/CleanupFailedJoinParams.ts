// Original file: proto/kubeha/v1/agent.proto


export interface CleanupFailedJoinParams {
  'node_name'?: (string);
}

export interface CleanupFailedJoinParams__Output {
  'node_name': (string);
}
