// Original file: proto/kubeha/v1/agent.proto

import type { NetworkInterface as _kubeha_v1_NetworkInterface, NetworkInterface__Output as _kubeha_v1_NetworkInterface__Output } from '../../kubeha/v1/NetworkInterface.ts';
import type { Long } from '@grpc/proto-loader';

export interface Facts {
  'hostname'?: (string);
  'os_id'?: (string);
  'os_version_id'?: (string);
  'os_pretty_name'?: (string);
  'kernel'?: (string);
  'arch'?: (string);
  'cpu_count'?: (number);
  'memory_bytes'?: (number | string | Long);
  'swap_bytes'?: (number | string | Long);
  'interfaces'?: (_kubeha_v1_NetworkInterface)[];
  'product_uuid'?: (string);
  'machine_id'?: (string);
  'default_route_interface'?: (string);
  'cgroup_version'?: (number);
}

export interface Facts__Output {
  'hostname': (string);
  'os_id': (string);
  'os_version_id': (string);
  'os_pretty_name': (string);
  'kernel': (string);
  'arch': (string);
  'cpu_count': (number);
  'memory_bytes': (string);
  'swap_bytes': (string);
  'interfaces': (_kubeha_v1_NetworkInterface__Output)[];
  'product_uuid': (string);
  'machine_id': (string);
  'default_route_interface': (string);
  'cgroup_version': (number);
}
