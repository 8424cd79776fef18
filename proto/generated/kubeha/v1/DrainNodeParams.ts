// Original file: proto/kubeha/v1/agent.proto


export interface DrainNodeParams {
  'node_name'?: (string);
  'timeout_seconds'?: (number);
  'dead'?: (boolean);
}

export interface DrainNodeParams__Output {
  'node_name': (string);
  'timeout_seconds': (number);
  'dead': (boolean);
}
