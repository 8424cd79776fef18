// Original file: proto/kubeha/v1/agent.proto


export interface CertsRenewParams {
  'apiserver_address'?: (string);
  'restart_timeout_seconds'?: (number);
  'renew_if_expires_before'?: (string);
}

export interface CertsRenewParams__Output {
  'apiserver_address': (string);
  'restart_timeout_seconds': (number);
  'renew_if_expires_before': (string);
}
