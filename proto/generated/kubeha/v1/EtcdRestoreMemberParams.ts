// Original file: proto/kubeha/v1/agent.proto


export interface EtcdRestoreMemberParams {
  'restore_id'?: (string);
  'role'?: (string);
  'member_name'?: (string);
  'member_peer_url'?: (string);
  'restored_client_url'?: (string);
  'initial_cluster'?: (string);
  'snapshot_id'?: (string);
  'snapshot_sha256'?: (string);
  'wait_timeout_seconds'?: (number);
}

export interface EtcdRestoreMemberParams__Output {
  'restore_id': (string);
  'role': (string);
  'member_name': (string);
  'member_peer_url': (string);
  'restored_client_url': (string);
  'initial_cluster': (string);
  'snapshot_id': (string);
  'snapshot_sha256': (string);
  'wait_timeout_seconds': (number);
}
