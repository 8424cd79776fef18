// Original file: proto/kubeha/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface VipTransition {
  'vip'?: (string);
  'held'?: (boolean);
  'at_ms'?: (number | string | Long);
  'sent_at_ms'?: (number | string | Long);
}

export interface VipTransition__Output {
  'vip': (string);
  'held': (boolean);
  'at_ms': (string);
  'sent_at_ms': (string);
}
