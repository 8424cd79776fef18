// Original file: proto/kubeha/v1/agent.proto


export interface JoinCredentialsParams {
  'action'?: (string);
  'token'?: (string);
  'ttl_seconds'?: (number);
  'certificate_key'?: (string);
  'description'?: (string);
  'min_remaining_seconds'?: (number);
  'kubernetes_version'?: (string);
}

export interface JoinCredentialsParams__Output {
  'action': (string);
  'token': (string);
  'ttl_seconds': (number);
  'certificate_key': (string);
  'description': (string);
  'min_remaining_seconds': (number);
  'kubernetes_version': (string);
}
