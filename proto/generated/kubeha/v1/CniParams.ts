// Original file: proto/kubeha/v1/agent.proto


export interface CniParams {
  'plugin'?: (string);
  'manifest_url'?: (string);
  'manifest_path'?: (string);
  'pod_subnet'?: (string);
  'rollout_timeout_seconds'?: (number);
  'manifest_sha256'?: (string);
  'allow_http'?: (boolean);
}

export interface CniParams__Output {
  'plugin': (string);
  'manifest_url': (string);
  'manifest_path': (string);
  'pod_subnet': (string);
  'rollout_timeout_seconds': (number);
  'manifest_sha256': (string);
  'allow_http': (boolean);
}
