// Original file: proto/kubeha/v1/agent.proto

import type { Facts as _kubeha_v1_Facts, Facts__Output as _kubeha_v1_Facts__Output } from '../../kubeha/v1/Facts.ts';
import type { StepEvent as _kubeha_v1_StepEvent, StepEvent__Output as _kubeha_v1_StepEvent__Output } from '../../kubeha/v1/StepEvent.ts';
import type { StepRef as _kubeha_v1_StepRef, StepRef__Output as _kubeha_v1_StepRef__Output } from '../../kubeha/v1/StepRef.ts';

export interface Hello {
  'agent_id'?: (string);
  'agent_version'?: (string);
  'facts'?: (_kubeha_v1_Facts | null);
  'unacknowledged'?: (_kubeha_v1_StepEvent)[];
  'running'?: (_kubeha_v1_StepRef)[];
}

export interface Hello__Output {
  'agent_id': (string);
  'agent_version': (string);
  'facts': (_kubeha_v1_Facts__Output | null);
  'unacknowledged': (_kubeha_v1_StepEvent__Output)[];
  'running': (_kubeha_v1_StepRef__Output)[];
}
