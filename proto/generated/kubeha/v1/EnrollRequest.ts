// Original file: proto/kubeha/v1/agent.proto

import type { Facts as _kubeha_v1_Facts, Facts__Output as _kubeha_v1_Facts__Output } from '../../kubeha/v1/Facts.ts';

export interface EnrollRequest {
  'token'?: (string);
  'csr_pem'?: (string);
  'facts'?: (_kubeha_v1_Facts | null);
  'agent_version'?: (string);
}

export interface EnrollRequest__Output {
  'token': (string);
  'csr_pem': (string);
  'facts': (_kubeha_v1_Facts__Output | null);
  'agent_version': (string);
}
