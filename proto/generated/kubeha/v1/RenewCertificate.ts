// Original file: proto/kubeha/v1/agent.proto


export interface RenewCertificate {
  'csr_pem'?: (string);
}

export interface RenewCertificate__Output {
  'csr_pem': (string);
}
