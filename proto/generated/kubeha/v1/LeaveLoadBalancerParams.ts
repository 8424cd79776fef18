// Original file: proto/kubeha/v1/agent.proto


export interface LeaveLoadBalancerParams {
  'vip'?: (string);
}

export interface LeaveLoadBalancerParams__Output {
  'vip': (string);
}
