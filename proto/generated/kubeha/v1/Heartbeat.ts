// Original file: proto/kubeha/v1/agent.proto

import type { HealthSnapshot as _kubeha_v1_HealthSnapshot, HealthSnapshot__Output as _kubeha_v1_HealthSnapshot__Output } from '../../kubeha/v1/HealthSnapshot.ts';
import type { Long } from '@grpc/proto-loader';

export interface Heartbeat {
  'sent_at_ms'?: (number | string | Long);
  'health'?: (_kubeha_v1_HealthSnapshot | null);
  'holds_vip'?: (boolean);
}

export interface Heartbeat__Output {
  'sent_at_ms': (string);
  'health': (_kubeha_v1_HealthSnapshot__Output | null);
  'holds_vip': (boolean);
}
