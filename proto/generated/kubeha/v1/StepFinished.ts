// Original file: proto/kubeha/v1/agent.proto

import type { StepOutcome as _kubeha_v1_StepOutcome, StepOutcome__Output as _kubeha_v1_StepOutcome__Output } from '../../kubeha/v1/StepOutcome.ts';
import type { StepError as _kubeha_v1_StepError, StepError__Output as _kubeha_v1_StepError__Output } from '../../kubeha/v1/StepError.ts';

export interface StepFinished {
  'outcome'?: (_kubeha_v1_StepOutcome);
  'changed'?: (boolean);
  'error'?: (_kubeha_v1_StepError | null);
  'outputs'?: ({[key: string]: string});
  'params_checksum'?: (string);
  'changes'?: (string)[];
}

export interface StepFinished__Output {
  'outcome': (_kubeha_v1_StepOutcome__Output);
  'changed': (boolean);
  'error': (_kubeha_v1_StepError__Output | null);
  'outputs': ({[key: string]: string});
  'params_checksum': (string);
  'changes': (string)[];
}
