// Original file: proto/kubeha/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface SnapshotChunk {
  'run_id'?: (string);
  'step_id'?: (string);
  'attempt'?: (number);
  'snapshot_id'?: (string);
  'offset'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'last'?: (boolean);
  'sha256'?: (string);
  'size'?: (number | string | Long);
  'revision'?: (number | string | Long);
  'total_keys'?: (number | string | Long);
  'hash'?: (number | string | Long);
}

export interface SnapshotChunk__Output {
  'run_id': (string);
  'step_id': (string);
  'attempt': (number);
  'snapshot_id': (string);
  'offset': (string);
  'data': (Buffer);
  'last': (boolean);
  'sha256': (string);
  'size': (string);
  'revision': (string);
  'total_keys': (string);
  'hash': (string);
}
