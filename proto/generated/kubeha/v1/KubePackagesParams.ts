// Original file: proto/kubeha/v1/agent.proto


export interface KubePackagesParams {
  'kubernetes_version'?: (string);
  'repo_base_url'?: (string);
  'gpg_key_url'?: (string);
}

export interface KubePackagesParams__Output {
  'kubernetes_version': (string);
  'repo_base_url': (string);
  'gpg_key_url': (string);
}
