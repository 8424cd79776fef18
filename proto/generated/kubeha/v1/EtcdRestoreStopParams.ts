// Original file: proto/kubeha/v1/agent.proto


export interface EtcdRestoreStopParams {
  'restore_id'?: (string);
  'keep_etcd'?: (boolean);
  'stop_timeout_seconds'?: (number);
  'refuse_with_quorum'?: (boolean);
  'snapshot_taken_at'?: (string);
}

export interface EtcdRestoreStopParams__Output {
  'restore_id': (string);
  'keep_etcd': (boolean);
  'stop_timeout_seconds': (number);
  'refuse_with_quorum': (boolean);
  'snapshot_taken_at': (string);
}
