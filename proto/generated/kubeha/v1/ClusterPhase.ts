// Original file: proto/kubeha/v1/agent.proto


export interface ClusterPhase {
  'cluster'?: (string);
  'initialized'?: (boolean);
  'init_node'?: (boolean);
  'endpoint_mode'?: (string);
  'lb_port'?: (number);
  'vip'?: (string);
  'cluster_ca_pem'?: (string);
}

export interface ClusterPhase__Output {
  'cluster': (string);
  'initialized': (boolean);
  'init_node': (boolean);
  'endpoint_mode': (string);
  'lb_port': (number);
  'vip': (string);
  'cluster_ca_pem': (string);
}
