// Original file: proto/kubeha/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface SnapshotData {
  'run_id'?: (string);
  'step_id'?: (string);
  'snapshot_id'?: (string);
  'offset'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'last'?: (boolean);
  'size'?: (number | string | Long);
  'sha256'?: (string);
}

export interface SnapshotData__Output {
  'run_id': (string);
  'step_id': (string);
  'snapshot_id': (string);
  'offset': (string);
  'data': (Buffer);
  'last': (boolean);
  'size': (string);
  'sha256': (string);
}
