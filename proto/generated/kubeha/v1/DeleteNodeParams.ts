// Original file: proto/kubeha/v1/agent.proto


export interface DeleteNodeParams {
  'node_name'?: (string);
}

export interface DeleteNodeParams__Output {
  'node_name': (string);
}
