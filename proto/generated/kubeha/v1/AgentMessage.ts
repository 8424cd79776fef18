// Original file: proto/kubeha/v1/agent.proto

import type { Hello as _kubeha_v1_Hello, Hello__Output as _kubeha_v1_Hello__Output } from '../../kubeha/v1/Hello.ts';
import type { Heartbeat as _kubeha_v1_Heartbeat, Heartbeat__Output as _kubeha_v1_Heartbeat__Output } from '../../kubeha/v1/Heartbeat.ts';
import type { StepEvent as _kubeha_v1_StepEvent, StepEvent__Output as _kubeha_v1_StepEvent__Output } from '../../kubeha/v1/StepEvent.ts';
import type { VipTransition as _kubeha_v1_VipTransition, VipTransition__Output as _kubeha_v1_VipTransition__Output } from '../../kubeha/v1/VipTransition.ts';
import type { RenewCertificate as _kubeha_v1_RenewCertificate, RenewCertificate__Output as _kubeha_v1_RenewCertificate__Output } from '../../kubeha/v1/RenewCertificate.ts';
import type { CertificateInventory as _kubeha_v1_CertificateInventory, CertificateInventory__Output as _kubeha_v1_CertificateInventory__Output } from '../../kubeha/v1/CertificateInventory.ts';
import type { SnapshotChunk as _kubeha_v1_SnapshotChunk, SnapshotChunk__Output as _kubeha_v1_SnapshotChunk__Output } from '../../kubeha/v1/SnapshotChunk.ts';

export interface AgentMessage {
  'hello'?: (_kubeha_v1_Hello | null);
  'heartbeat'?: (_kubeha_v1_Heartbeat | null);
  'step_event'?: (_kubeha_v1_StepEvent | null);
  'vip_transition'?: (_kubeha_v1_VipTransition | null);
  'renew_certificate'?: (_kubeha_v1_RenewCertificate | null);
  'certificate_inventory'?: (_kubeha_v1_CertificateInventory | null);
  'snapshot_chunk'?: (_kubeha_v1_SnapshotChunk | null);
  'kind'?: "hello"|"heartbeat"|"step_event"|"vip_transition"|"renew_certificate"|"certificate_inventory"|"snapshot_chunk";
}

export interface AgentMessage__Output {
  'hello'?: (_kubeha_v1_Hello__Output | null);
  'heartbeat'?: (_kubeha_v1_Heartbeat__Output | null);
  'step_event'?: (_kubeha_v1_StepEvent__Output | null);
  'vip_transition'?: (_kubeha_v1_VipTransition__Output | null);
  'renew_certificate'?: (_kubeha_v1_RenewCertificate__Output | null);
  'certificate_inventory'?: (_kubeha_v1_CertificateInventory__Output | null);
  'snapshot_chunk'?: (_kubeha_v1_SnapshotChunk__Output | null);
  'kind'?: "hello"|"heartbeat"|"step_event"|"vip_transition"|"renew_certificate"|"certificate_inventory"|"snapshot_chunk";
}
