import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Ack as _kubeha_v1_Ack, Ack__Output as _kubeha_v1_Ack__Output } from './kubeha/v1/Ack.ts';
import type { AgentGatewayClient as _kubeha_v1_AgentGatewayClient, AgentGatewayDefinition as _kubeha_v1_AgentGatewayDefinition } from './kubeha/v1/AgentGateway.ts';
import type { AgentMessage as _kubeha_v1_AgentMessage, AgentMessage__Output as _kubeha_v1_AgentMessage__Output } from './kubeha/v1/AgentMessage.ts';
import type { CancelStep as _kubeha_v1_CancelStep, CancelStep__Output as _kubeha_v1_CancelStep__Output } from './kubeha/v1/CancelStep.ts';
import type { CertificateInventory as _kubeha_v1_CertificateInventory, CertificateInventory__Output as _kubeha_v1_CertificateInventory__Output } from './kubeha/v1/CertificateInventory.ts';
import type { CertificateRenewal as _kubeha_v1_CertificateRenewal, CertificateRenewal__Output as _kubeha_v1_CertificateRenewal__Output } from './kubeha/v1/CertificateRenewal.ts';
import type { CertificateReport as _kubeha_v1_CertificateReport, CertificateReport__Output as _kubeha_v1_CertificateReport__Output } from './kubeha/v1/CertificateReport.ts';
import type { CertsRenewParams as _kubeha_v1_CertsRenewParams, CertsRenewParams__Output as _kubeha_v1_CertsRenewParams__Output } from './kubeha/v1/CertsRenewParams.ts';
import type { ClusterNode as _kubeha_v1_ClusterNode, ClusterNode__Output as _kubeha_v1_ClusterNode__Output } from './kubeha/v1/ClusterNode.ts';
import type { ClusterPhase as _kubeha_v1_ClusterPhase, ClusterPhase__Output as _kubeha_v1_ClusterPhase__Output } from './kubeha/v1/ClusterPhase.ts';
import type { CniParams as _kubeha_v1_CniParams, CniParams__Output as _kubeha_v1_CniParams__Output } from './kubeha/v1/CniParams.ts';
import type { ContainerRuntimeParams as _kubeha_v1_ContainerRuntimeParams, ContainerRuntimeParams__Output as _kubeha_v1_ContainerRuntimeParams__Output } from './kubeha/v1/ContainerRuntimeParams.ts';
import type { CoordinatorMessage as _kubeha_v1_CoordinatorMessage, CoordinatorMessage__Output as _kubeha_v1_CoordinatorMessage__Output } from './kubeha/v1/CoordinatorMessage.ts';
import type { DeleteNodeParams as _kubeha_v1_DeleteNodeParams, DeleteNodeParams__Output as _kubeha_v1_DeleteNodeParams__Output } from './kubeha/v1/DeleteNodeParams.ts';
import type { DrainNodeParams as _kubeha_v1_DrainNodeParams, DrainNodeParams__Output as _kubeha_v1_DrainNodeParams__Output } from './kubeha/v1/DrainNodeParams.ts';
import type { EnrollRequest as _kubeha_v1_EnrollRequest, EnrollRequest__Output as _kubeha_v1_EnrollRequest__Output } from './kubeha/v1/EnrollRequest.ts';
import type { EnrollResponse as _kubeha_v1_EnrollResponse, EnrollResponse__Output as _kubeha_v1_EnrollResponse__Output } from './kubeha/v1/EnrollResponse.ts';
import type { EtcdRestoreMemberParams as _kubeha_v1_EtcdRestoreMemberParams, EtcdRestoreMemberParams__Output as _kubeha_v1_EtcdRestoreMemberParams__Output } from './kubeha/v1/EtcdRestoreMemberParams.ts';
import type { EtcdRestoreStartParams as _kubeha_v1_EtcdRestoreStartParams, EtcdRestoreStartParams__Output as _kubeha_v1_EtcdRestoreStartParams__Output } from './kubeha/v1/EtcdRestoreStartParams.ts';
import type { EtcdRestoreStopParams as _kubeha_v1_EtcdRestoreStopParams, EtcdRestoreStopParams__Output as _kubeha_v1_EtcdRestoreStopParams__Output } from './kubeha/v1/EtcdRestoreStopParams.ts';
import type { EtcdSnapshotParams as _kubeha_v1_EtcdSnapshotParams, EtcdSnapshotParams__Output as _kubeha_v1_EtcdSnapshotParams__Output } from './kubeha/v1/EtcdSnapshotParams.ts';
import type { Facts as _kubeha_v1_Facts, Facts__Output as _kubeha_v1_Facts__Output } from './kubeha/v1/Facts.ts';
import type { FailoverDrillActionParams as _kubeha_v1_FailoverDrillActionParams, FailoverDrillActionParams__Output as _kubeha_v1_FailoverDrillActionParams__Output } from './kubeha/v1/FailoverDrillActionParams.ts';
import type { HealthSnapshot as _kubeha_v1_HealthSnapshot, HealthSnapshot__Output as _kubeha_v1_HealthSnapshot__Output } from './kubeha/v1/HealthSnapshot.ts';
import type { Heartbeat as _kubeha_v1_Heartbeat, Heartbeat__Output as _kubeha_v1_Heartbeat__Output } from './kubeha/v1/Heartbeat.ts';
import type { Hello as _kubeha_v1_Hello, Hello__Output as _kubeha_v1_Hello__Output } from './kubeha/v1/Hello.ts';
import type { HostPrepParams as _kubeha_v1_HostPrepParams, HostPrepParams__Output as _kubeha_v1_HostPrepParams__Output } from './kubeha/v1/HostPrepParams.ts';
import type { JoinCredentialsParams as _kubeha_v1_JoinCredentialsParams, JoinCredentialsParams__Output as _kubeha_v1_JoinCredentialsParams__Output } from './kubeha/v1/JoinCredentialsParams.ts';
import type { KubePackagesParams as _kubeha_v1_KubePackagesParams, KubePackagesParams__Output as _kubeha_v1_KubePackagesParams__Output } from './kubeha/v1/KubePackagesParams.ts';
import type { KubeadmInitParams as _kubeha_v1_KubeadmInitParams, KubeadmInitParams__Output as _kubeha_v1_KubeadmInitParams__Output } from './kubeha/v1/KubeadmInitParams.ts';
import type { KubeadmJoinParams as _kubeha_v1_KubeadmJoinParams, KubeadmJoinParams__Output as _kubeha_v1_KubeadmJoinParams__Output } from './kubeha/v1/KubeadmJoinParams.ts';
import type { KubeadmResetParams as _kubeha_v1_KubeadmResetParams, KubeadmResetParams__Output as _kubeha_v1_KubeadmResetParams__Output } from './kubeha/v1/KubeadmResetParams.ts';
import type { LeaveLoadBalancerParams as _kubeha_v1_LeaveLoadBalancerParams, LeaveLoadBalancerParams__Output as _kubeha_v1_LeaveLoadBalancerParams__Output } from './kubeha/v1/LeaveLoadBalancerParams.ts';
import type { LoadBalancerParams as _kubeha_v1_LoadBalancerParams, LoadBalancerParams__Output as _kubeha_v1_LoadBalancerParams__Output } from './kubeha/v1/LoadBalancerParams.ts';
import type { NetworkInterface as _kubeha_v1_NetworkInterface, NetworkInterface__Output as _kubeha_v1_NetworkInterface__Output } from './kubeha/v1/NetworkInterface.ts';
import type { PreflightParams as _kubeha_v1_PreflightParams, PreflightParams__Output as _kubeha_v1_PreflightParams__Output } from './kubeha/v1/PreflightParams.ts';
import type { RegistryMirror as _kubeha_v1_RegistryMirror, RegistryMirror__Output as _kubeha_v1_RegistryMirror__Output } from './kubeha/v1/RegistryMirror.ts';
import type { RemoveEtcdMemberParams as _kubeha_v1_RemoveEtcdMemberParams, RemoveEtcdMemberParams__Output as _kubeha_v1_RemoveEtcdMemberParams__Output } from './kubeha/v1/RemoveEtcdMemberParams.ts';
import type { RenewCertificate as _kubeha_v1_RenewCertificate, RenewCertificate__Output as _kubeha_v1_RenewCertificate__Output } from './kubeha/v1/RenewCertificate.ts';
import type { RunStep as _kubeha_v1_RunStep, RunStep__Output as _kubeha_v1_RunStep__Output } from './kubeha/v1/RunStep.ts';
import type { SnapshotChunk as _kubeha_v1_SnapshotChunk, SnapshotChunk__Output as _kubeha_v1_SnapshotChunk__Output } from './kubeha/v1/SnapshotChunk.ts';
import type { SnapshotData as _kubeha_v1_SnapshotData, SnapshotData__Output as _kubeha_v1_SnapshotData__Output } from './kubeha/v1/SnapshotData.ts';
import type { StepError as _kubeha_v1_StepError, StepError__Output as _kubeha_v1_StepError__Output } from './kubeha/v1/StepError.ts';
import type { StepEvent as _kubeha_v1_StepEvent, StepEvent__Output as _kubeha_v1_StepEvent__Output } from './kubeha/v1/StepEvent.ts';
import type { StepFinished as _kubeha_v1_StepFinished, StepFinished__Output as _kubeha_v1_StepFinished__Output } from './kubeha/v1/StepFinished.ts';
import type { StepLogLine as _kubeha_v1_StepLogLine, StepLogLine__Output as _kubeha_v1_StepLogLine__Output } from './kubeha/v1/StepLogLine.ts';
import type { StepRef as _kubeha_v1_StepRef, StepRef__Output as _kubeha_v1_StepRef__Output } from './kubeha/v1/StepRef.ts';
import type { StepStarted as _kubeha_v1_StepStarted, StepStarted__Output as _kubeha_v1_StepStarted__Output } from './kubeha/v1/StepStarted.ts';
import type { VerifyParams as _kubeha_v1_VerifyParams, VerifyParams__Output as _kubeha_v1_VerifyParams__Output } from './kubeha/v1/VerifyParams.ts';
import type { VipTransition as _kubeha_v1_VipTransition, VipTransition__Output as _kubeha_v1_VipTransition__Output } from './kubeha/v1/VipTransition.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kubeha: {
    v1: {
      Ack: MessageTypeDefinition<_kubeha_v1_Ack, _kubeha_v1_Ack__Output>
      AgentGateway: SubtypeConstructor<typeof grpc.Client, _kubeha_v1_AgentGatewayClient> & { service: _kubeha_v1_AgentGatewayDefinition }
      AgentMessage: MessageTypeDefinition<_kubeha_v1_AgentMessage, _kubeha_v1_AgentMessage__Output>
      CancelStep: MessageTypeDefinition<_kubeha_v1_CancelStep, _kubeha_v1_CancelStep__Output>
      CertificateInventory: MessageTypeDefinition<_kubeha_v1_CertificateInventory, _kubeha_v1_CertificateInventory__Output>
      CertificateRenewal: MessageTypeDefinition<_kubeha_v1_CertificateRenewal, _kubeha_v1_CertificateRenewal__Output>
      CertificateReport: MessageTypeDefinition<_kubeha_v1_CertificateReport, _kubeha_v1_CertificateReport__Output>
      CertsRenewParams: MessageTypeDefinition<_kubeha_v1_CertsRenewParams, _kubeha_v1_CertsRenewParams__Output>
      ClusterNode: MessageTypeDefinition<_kubeha_v1_ClusterNode, _kubeha_v1_ClusterNode__Output>
      ClusterPhase: MessageTypeDefinition<_kubeha_v1_ClusterPhase, _kubeha_v1_ClusterPhase__Output>
      CniParams: MessageTypeDefinition<_kubeha_v1_CniParams, _kubeha_v1_CniParams__Output>
      ContainerRuntimeParams: MessageTypeDefinition<_kubeha_v1_ContainerRuntimeParams, _kubeha_v1_ContainerRuntimeParams__Output>
      CoordinatorMessage: MessageTypeDefinition<_kubeha_v1_CoordinatorMessage, _kubeha_v1_CoordinatorMessage__Output>
      DeleteNodeParams: MessageTypeDefinition<_kubeha_v1_DeleteNodeParams, _kubeha_v1_DeleteNodeParams__Output>
      DrainNodeParams: MessageTypeDefinition<_kubeha_v1_DrainNodeParams, _kubeha_v1_DrainNodeParams__Output>
      EnrollRequest: MessageTypeDefinition<_kubeha_v1_EnrollRequest, _kubeha_v1_EnrollRequest__Output>
      EnrollResponse: MessageTypeDefinition<_kubeha_v1_EnrollResponse, _kubeha_v1_EnrollResponse__Output>
      EtcdRestoreMemberParams: MessageTypeDefinition<_kubeha_v1_EtcdRestoreMemberParams, _kubeha_v1_EtcdRestoreMemberParams__Output>
      EtcdRestoreStartParams: MessageTypeDefinition<_kubeha_v1_EtcdRestoreStartParams, _kubeha_v1_EtcdRestoreStartParams__Output>
      EtcdRestoreStopParams: MessageTypeDefinition<_kubeha_v1_EtcdRestoreStopParams, _kubeha_v1_EtcdRestoreStopParams__Output>
      EtcdSnapshotParams: MessageTypeDefinition<_kubeha_v1_EtcdSnapshotParams, _kubeha_v1_EtcdSnapshotParams__Output>
      Facts: MessageTypeDefinition<_kubeha_v1_Facts, _kubeha_v1_Facts__Output>
      FailoverDrillActionParams: MessageTypeDefinition<_kubeha_v1_FailoverDrillActionParams, _kubeha_v1_FailoverDrillActionParams__Output>
      HealthSnapshot: MessageTypeDefinition<_kubeha_v1_HealthSnapshot, _kubeha_v1_HealthSnapshot__Output>
      Heartbeat: MessageTypeDefinition<_kubeha_v1_Heartbeat, _kubeha_v1_Heartbeat__Output>
      Hello: MessageTypeDefinition<_kubeha_v1_Hello, _kubeha_v1_Hello__Output>
      HostPrepParams: MessageTypeDefinition<_kubeha_v1_HostPrepParams, _kubeha_v1_HostPrepParams__Output>
      JoinCredentialsParams: MessageTypeDefinition<_kubeha_v1_JoinCredentialsParams, _kubeha_v1_JoinCredentialsParams__Output>
      KubePackagesParams: MessageTypeDefinition<_kubeha_v1_KubePackagesParams, _kubeha_v1_KubePackagesParams__Output>
      KubeadmInitParams: MessageTypeDefinition<_kubeha_v1_KubeadmInitParams, _kubeha_v1_KubeadmInitParams__Output>
      KubeadmJoinParams: MessageTypeDefinition<_kubeha_v1_KubeadmJoinParams, _kubeha_v1_KubeadmJoinParams__Output>
      KubeadmResetParams: MessageTypeDefinition<_kubeha_v1_KubeadmResetParams, _kubeha_v1_KubeadmResetParams__Output>
      LeaveLoadBalancerParams: MessageTypeDefinition<_kubeha_v1_LeaveLoadBalancerParams, _kubeha_v1_LeaveLoadBalancerParams__Output>
      LoadBalancerParams: MessageTypeDefinition<_kubeha_v1_LoadBalancerParams, _kubeha_v1_LoadBalancerParams__Output>
      NetworkInterface: MessageTypeDefinition<_kubeha_v1_NetworkInterface, _kubeha_v1_NetworkInterface__Output>
      PreflightParams: MessageTypeDefinition<_kubeha_v1_PreflightParams, _kubeha_v1_PreflightParams__Output>
      RegistryMirror: MessageTypeDefinition<_kubeha_v1_RegistryMirror, _kubeha_v1_RegistryMirror__Output>
      RemoveEtcdMemberParams: MessageTypeDefinition<_kubeha_v1_RemoveEtcdMemberParams, _kubeha_v1_RemoveEtcdMemberParams__Output>
      RenewCertificate: MessageTypeDefinition<_kubeha_v1_RenewCertificate, _kubeha_v1_RenewCertificate__Output>
      RunStep: MessageTypeDefinition<_kubeha_v1_RunStep, _kubeha_v1_RunStep__Output>
      SnapshotChunk: MessageTypeDefinition<_kubeha_v1_SnapshotChunk, _kubeha_v1_SnapshotChunk__Output>
      SnapshotData: MessageTypeDefinition<_kubeha_v1_SnapshotData, _kubeha_v1_SnapshotData__Output>
      StepError: MessageTypeDefinition<_kubeha_v1_StepError, _kubeha_v1_StepError__Output>
      StepEvent: MessageTypeDefinition<_kubeha_v1_StepEvent, _kubeha_v1_StepEvent__Output>
      StepFinished: MessageTypeDefinition<_kubeha_v1_StepFinished, _kubeha_v1_StepFinished__Output>
      StepLogLine: MessageTypeDefinition<_kubeha_v1_StepLogLine, _kubeha_v1_StepLogLine__Output>
      StepOutcome: EnumTypeDefinition
      StepRef: MessageTypeDefinition<_kubeha_v1_StepRef, _kubeha_v1_StepRef__Output>
      StepStarted: MessageTypeDefinition<_kubeha_v1_StepStarted, _kubeha_v1_StepStarted__Output>
      VerifyParams: MessageTypeDefinition<_kubeha_v1_VerifyParams, _kubeha_v1_VerifyParams__Output>
      VipTransition: MessageTypeDefinition<_kubeha_v1_VipTransition, _kubeha_v1_VipTransition__Output>
    }
  }
}

