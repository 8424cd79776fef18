// Original file: proto/kubeha/v1/agent.proto


export interface EtcdRestoreStartParams {
  'restore_id'?: (string);
  'apiserver_address'?: (string);
  'wait_timeout_seconds'?: (number);
}

export interface EtcdRestoreStartParams__Output {
  'restore_id': (string);
  'apiserver_address': (string);
  'wait_timeout_seconds': (number);
}
