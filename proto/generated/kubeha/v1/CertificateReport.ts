// Original file: proto/kubeha/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface CertificateReport {
  'name'?: (string);
  'file'?: (string);
  'kubeconfig_user'?: (string);
  'subject'?: (string);
  'issuer'?: (string);
  'sans'?: (string)[];
  'not_before_ms'?: (number | string | Long);
  'not_after_ms'?: (number | string | Long);
  'is_ca'?: (boolean);
}

export interface CertificateReport__Output {
  'name': (string);
  'file': (string);
  'kubeconfig_user': (string);
  'subject': (string);
  'issuer': (string);
  'sans': (string)[];
  'not_before_ms': (string);
  'not_after_ms': (string);
  'is_ca': (boolean);
}
