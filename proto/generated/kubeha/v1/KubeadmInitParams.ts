// Original file: proto/kubeha/v1/agent.proto


export interface KubeadmInitParams {
  'kubernetes_version'?: (string);
  'control_plane_endpoint'?: (string);
  'advertise_address'?: (string);
  'node_name'?: (string);
  'pod_subnet'?: (string);
  'service_subnet'?: (string);
  'bootstrap_token'?: (string);
  'certificate_key'?: (string);
  'token_ttl_seconds'?: (number);
  'image_repository'?: (string);
  'allow_cgroup_v1'?: (boolean);
}

export interface KubeadmInitParams__Output {
  'kubernetes_version': (string);
  'control_plane_endpoint': (string);
  'advertise_address': (string);
  'node_name': (string);
  'pod_subnet': (string);
  'service_subnet': (string);
  'bootstrap_token': (string);
  'certificate_key': (string);
  'token_ttl_seconds': (number);
  'image_repository': (string);
  'allow_cgroup_v1': (boolean);
}
