// Original file: proto/kubeha/v1/agent.proto

import type { ClusterNode as _kubeha_v1_ClusterNode, ClusterNode__Output as _kubeha_v1_ClusterNode__Output } from '../../kubeha/v1/ClusterNode.ts';

export interface HostPrepParams {
  'hostname'?: (string);
  'role'?: (string);
  'nodes'?: (_kubeha_v1_ClusterNode)[];
  'selinux'?: (string);
  'firewall'?: (string);
  'cni'?: (string);
  'lb_port'?: (number);
  'pod_subnet'?: (string);
  'keepalived'?: (boolean);
}

export interface HostPrepParams__Output {
  'hostname': (string);
  'role': (string);
  'nodes': (_kubeha_v1_ClusterNode__Output)[];
  'selinux': (string);
  'firewall': (string);
  'cni': (string);
  'lb_port': (number);
  'pod_subnet': (string);
  'keepalived': (boolean);
}
