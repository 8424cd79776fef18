// Original file: proto/kubeha/v1/agent.proto


export interface CertsRenewParams {
  'only_if_expires_within_days'?: (number);
  'apiserver_address'?: (string);
  'restart_timeout_seconds'?: (number);
}

export interface CertsRenewParams__Output {
  'only_if_expires_within_days': (number);
  'apiserver_address': (string);
  'restart_timeout_seconds': (number);
}
