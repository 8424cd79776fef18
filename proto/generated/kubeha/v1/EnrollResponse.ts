// Original file: proto/kubeha/v1/agent.proto


export interface EnrollResponse {
  'agent_id'?: (string);
  'certificate_pem'?: (string);
  'ca_pem'?: (string);
}

export interface EnrollResponse__Output {
  'agent_id': (string);
  'certificate_pem': (string);
  'ca_pem': (string);
}
