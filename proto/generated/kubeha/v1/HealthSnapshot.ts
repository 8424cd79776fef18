// Original file: proto/kubeha/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface HealthSnapshot {
  'agent_ok'?: (boolean);
  'vrrp_healthy'?: (boolean);
  'vrrp_reason'?: (string);
  'probe_age_ms'?: (number | string | Long);
}

export interface HealthSnapshot__Output {
  'agent_ok': (boolean);
  'vrrp_healthy': (boolean);
  'vrrp_reason': (string);
  'probe_age_ms': (string);
}
