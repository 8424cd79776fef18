// Original file: proto/kubeha/v1/agent.proto


export interface PreflightParams {
  'role'?: (string);
  'kubernetes_version'?: (string);
  'lb_port'?: (number);
  'already_member'?: (boolean);
  'allow_erasing'?: (boolean);
  'allow_cgroup_v1'?: (boolean);
}

export interface PreflightParams__Output {
  'role': (string);
  'kubernetes_version': (string);
  'lb_port': (number);
  'already_member': (boolean);
  'allow_erasing': (boolean);
  'allow_cgroup_v1': (boolean);
}
