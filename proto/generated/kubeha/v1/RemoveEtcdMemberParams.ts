// Original file: proto/kubeha/v1/agent.proto


export interface RemoveEtcdMemberParams {
  'member_name'?: (string);
  'member_peer_url'?: (string);
}

export interface RemoveEtcdMemberParams__Output {
  'member_name': (string);
  'member_peer_url': (string);
}
