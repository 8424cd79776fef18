// Original file: proto/kubeha/v1/agent.proto

import type { StepStarted as _kubeha_v1_StepStarted, StepStarted__Output as _kubeha_v1_StepStarted__Output } from '../../kubeha/v1/StepStarted.ts';
import type { StepLogLine as _kubeha_v1_StepLogLine, StepLogLine__Output as _kubeha_v1_StepLogLine__Output } from '../../kubeha/v1/StepLogLine.ts';
import type { StepFinished as _kubeha_v1_StepFinished, StepFinished__Output as _kubeha_v1_StepFinished__Output } from '../../kubeha/v1/StepFinished.ts';
import type { Long } from '@grpc/proto-loader';

export interface StepEvent {
  'run_id'?: (string);
  'step_id'?: (string);
  'attempt'?: (number);
  'at_ms'?: (number | string | Long);
  'started'?: (_kubeha_v1_StepStarted | null);
  'log'?: (_kubeha_v1_StepLogLine | null);
  'finished'?: (_kubeha_v1_StepFinished | null);
  'kind'?: "started"|"log"|"finished";
}

export interface StepEvent__Output {
  'run_id': (string);
  'step_id': (string);
  'attempt': (number);
  'at_ms': (string);
  'started'?: (_kubeha_v1_StepStarted__Output | null);
  'log'?: (_kubeha_v1_StepLogLine__Output | null);
  'finished'?: (_kubeha_v1_StepFinished__Output | null);
  'kind'?: "started"|"log"|"finished";
}
