// Original file: proto/kubeha/v1/agent.proto


export interface CertificateRenewal {
  'certificate_pem'?: (string);
  'refused'?: (string);
}

export interface CertificateRenewal__Output {
  'certificate_pem': (string);
  'refused': (string);
}
