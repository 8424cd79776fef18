// Original file: proto/kubeha/v1/agent.proto

import type { ClusterNode as _kubeha_v1_ClusterNode, ClusterNode__Output as _kubeha_v1_ClusterNode__Output } from '../../kubeha/v1/ClusterNode.ts';

export interface VerifyParams {
  'control_plane_endpoint'?: (string);
  'nodes'?: (_kubeha_v1_ClusterNode)[];
  'node_name'?: (string);
  'pod_probe_image'?: (string);
}

export interface VerifyParams__Output {
  'control_plane_endpoint': (string);
  'nodes': (_kubeha_v1_ClusterNode__Output)[];
  'node_name': (string);
  'pod_probe_image': (string);
}
