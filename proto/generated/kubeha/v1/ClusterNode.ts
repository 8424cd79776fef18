// Original file: proto/kubeha/v1/agent.proto


export interface ClusterNode {
  'name'?: (string);
  'address'?: (string);
  'role'?: (string);
}

export interface ClusterNode__Output {
  'name': (string);
  'address': (string);
  'role': (string);
}
