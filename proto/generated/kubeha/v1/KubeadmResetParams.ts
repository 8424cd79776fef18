// Original file: proto/kubeha/v1/agent.proto


export interface KubeadmResetParams {
  'node_name'?: (string);
}

export interface KubeadmResetParams__Output {
  'node_name': (string);
}
