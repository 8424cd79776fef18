// Original file: proto/kubeha/v1/agent.proto

import type { ClusterNode as _kubeha_v1_ClusterNode, ClusterNode__Output as _kubeha_v1_ClusterNode__Output } from '../../kubeha/v1/ClusterNode.ts';

export interface LoadBalancerParams {
  'mode'?: (string);
  'vip'?: (string);
  'vip_prefix_length'?: (number);
  'interface'?: (string);
  'virtual_router_id'?: (number);
  'priority'?: (number);
  'auth_pass'?: (string);
  'multicast'?: (boolean);
  'unicast_src_ip'?: (string);
  'unicast_peers'?: (string)[];
  'lb_port'?: (number);
  'backends'?: (_kubeha_v1_ClusterNode)[];
  'check_interval_s'?: (number);
  'check_fall'?: (number);
  'check_rise'?: (number);
  'check_weight'?: (number);
  'advert_int_s'?: (number);
  'node_name'?: (string);
}

export interface LoadBalancerParams__Output {
  'mode': (string);
  'vip': (string);
  'vip_prefix_length': (number);
  'interface': (string);
  'virtual_router_id': (number);
  'priority': (number);
  'auth_pass': (string);
  'multicast': (boolean);
  'unicast_src_ip': (string);
  'unicast_peers': (string)[];
  'lb_port': (number);
  'backends': (_kubeha_v1_ClusterNode__Output)[];
  'check_interval_s': (number);
  'check_fall': (number);
  'check_rise': (number);
  'check_weight': (number);
  'advert_int_s': (number);
  'node_name': (string);
}
