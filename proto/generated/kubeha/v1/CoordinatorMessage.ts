// Original file: proto/kubeha/v1/agent.proto

import type { RunStep as _kubeha_v1_RunStep, RunStep__Output as _kubeha_v1_RunStep__Output } from '../../kubeha/v1/RunStep.ts';
import type { CancelStep as _kubeha_v1_CancelStep, CancelStep__Output as _kubeha_v1_CancelStep__Output } from '../../kubeha/v1/CancelStep.ts';
import type { Ack as _kubeha_v1_Ack, Ack__Output as _kubeha_v1_Ack__Output } from '../../kubeha/v1/Ack.ts';
import type { ClusterPhase as _kubeha_v1_ClusterPhase, ClusterPhase__Output as _kubeha_v1_ClusterPhase__Output } from '../../kubeha/v1/ClusterPhase.ts';
import type { CertificateRenewal as _kubeha_v1_CertificateRenewal, CertificateRenewal__Output as _kubeha_v1_CertificateRenewal__Output } from '../../kubeha/v1/CertificateRenewal.ts';
import type { SnapshotData as _kubeha_v1_SnapshotData, SnapshotData__Output as _kubeha_v1_SnapshotData__Output } from '../../kubeha/v1/SnapshotData.ts';

export interface CoordinatorMessage {
  'run_step'?: (_kubeha_v1_RunStep | null);
  'cancel_step'?: (_kubeha_v1_CancelStep | null);
  'ack'?: (_kubeha_v1_Ack | null);
  'cluster_phase'?: (_kubeha_v1_ClusterPhase | null);
  'certificate_renewal'?: (_kubeha_v1_CertificateRenewal | null);
  'snapshot_data'?: (_kubeha_v1_SnapshotData | null);
  'kind'?: "run_step"|"cancel_step"|"ack"|"cluster_phase"|"certificate_renewal"|"snapshot_data";
}

export interface CoordinatorMessage__Output {
  'run_step'?: (_kubeha_v1_RunStep__Output | null);
  'cancel_step'?: (_kubeha_v1_CancelStep__Output | null);
  'ack'?: (_kubeha_v1_Ack__Output | null);
  'cluster_phase'?: (_kubeha_v1_ClusterPhase__Output | null);
  'certificate_renewal'?: (_kubeha_v1_CertificateRenewal__Output | null);
  'snapshot_data'?: (_kubeha_v1_SnapshotData__Output | null);
  'kind'?: "run_step"|"cancel_step"|"ack"|"cluster_phase"|"certificate_renewal"|"snapshot_data";
}
