// Original file: proto/kubeha/v1/agent.proto


export interface KubeadmJoinParams {
  'kubernetes_version'?: (string);
  'control_plane_endpoint'?: (string);
  'advertise_address'?: (string);
  'node_name'?: (string);
  'control_plane'?: (boolean);
  'bootstrap_token'?: (string);
  'ca_cert_hashes'?: (string)[];
  'certificate_key'?: (string);
  'allow_cgroup_v1'?: (boolean);
}

export interface KubeadmJoinParams__Output {
  'kubernetes_version': (string);
  'control_plane_endpoint': (string);
  'advertise_address': (string);
  'node_name': (string);
  'control_plane': (boolean);
  'bootstrap_token': (string);
  'ca_cert_hashes': (string)[];
  'certificate_key': (string);
  'allow_cgroup_v1': (boolean);
}
