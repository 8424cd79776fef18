// Original file: proto/kubeha/v1/agent.proto

import type { CertificateReport as _kubeha_v1_CertificateReport, CertificateReport__Output as _kubeha_v1_CertificateReport__Output } from '../../kubeha/v1/CertificateReport.ts';
import type { Long } from '@grpc/proto-loader';

export interface CertificateInventory {
  'gathered_at_ms'?: (number | string | Long);
  'certificates'?: (_kubeha_v1_CertificateReport)[];
}

export interface CertificateInventory__Output {
  'gathered_at_ms': (string);
  'certificates': (_kubeha_v1_CertificateReport__Output)[];
}
