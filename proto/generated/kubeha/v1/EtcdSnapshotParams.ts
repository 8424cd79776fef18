// Original file: proto/kubeha/v1/agent.proto


export interface EtcdSnapshotParams {
  'snapshot_id'?: (string);
  'chunk_bytes'?: (number);
}

export interface EtcdSnapshotParams__Output {
  'snapshot_id': (string);
  'chunk_bytes': (number);
}
