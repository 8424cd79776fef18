// Original file: proto/kubeha/v1/agent.proto

import type { PreflightParams as _kubeha_v1_PreflightParams, PreflightParams__Output as _kubeha_v1_PreflightParams__Output } from '../../kubeha/v1/PreflightParams.ts';
import type { HostPrepParams as _kubeha_v1_HostPrepParams, HostPrepParams__Output as _kubeha_v1_HostPrepParams__Output } from '../../kubeha/v1/HostPrepParams.ts';
import type { ContainerRuntimeParams as _kubeha_v1_ContainerRuntimeParams, ContainerRuntimeParams__Output as _kubeha_v1_ContainerRuntimeParams__Output } from '../../kubeha/v1/ContainerRuntimeParams.ts';
import type { KubePackagesParams as _kubeha_v1_KubePackagesParams, KubePackagesParams__Output as _kubeha_v1_KubePackagesParams__Output } from '../../kubeha/v1/KubePackagesParams.ts';
import type { LoadBalancerParams as _kubeha_v1_LoadBalancerParams, LoadBalancerParams__Output as _kubeha_v1_LoadBalancerParams__Output } from '../../kubeha/v1/LoadBalancerParams.ts';
import type { KubeadmInitParams as _kubeha_v1_KubeadmInitParams, KubeadmInitParams__Output as _kubeha_v1_KubeadmInitParams__Output } from '../../kubeha/v1/KubeadmInitParams.ts';
import type { KubeadmJoinParams as _kubeha_v1_KubeadmJoinParams, KubeadmJoinParams__Output as _kubeha_v1_KubeadmJoinParams__Output } from '../../kubeha/v1/KubeadmJoinParams.ts';
import type { JoinCredentialsParams as _kubeha_v1_JoinCredentialsParams, JoinCredentialsParams__Output as _kubeha_v1_JoinCredentialsParams__Output } from '../../kubeha/v1/JoinCredentialsParams.ts';
import type { KubeadmResetParams as _kubeha_v1_KubeadmResetParams, KubeadmResetParams__Output as _kubeha_v1_KubeadmResetParams__Output } from '../../kubeha/v1/KubeadmResetParams.ts';
import type { RemoveEtcdMemberParams as _kubeha_v1_RemoveEtcdMemberParams, RemoveEtcdMemberParams__Output as _kubeha_v1_RemoveEtcdMemberParams__Output } from '../../kubeha/v1/RemoveEtcdMemberParams.ts';
import type { CniParams as _kubeha_v1_CniParams, CniParams__Output as _kubeha_v1_CniParams__Output } from '../../kubeha/v1/CniParams.ts';
import type { VerifyParams as _kubeha_v1_VerifyParams, VerifyParams__Output as _kubeha_v1_VerifyParams__Output } from '../../kubeha/v1/VerifyParams.ts';
import type { FailoverDrillActionParams as _kubeha_v1_FailoverDrillActionParams, FailoverDrillActionParams__Output as _kubeha_v1_FailoverDrillActionParams__Output } from '../../kubeha/v1/FailoverDrillActionParams.ts';
import type { DrainNodeParams as _kubeha_v1_DrainNodeParams, DrainNodeParams__Output as _kubeha_v1_DrainNodeParams__Output } from '../../kubeha/v1/DrainNodeParams.ts';
import type { DeleteNodeParams as _kubeha_v1_DeleteNodeParams, DeleteNodeParams__Output as _kubeha_v1_DeleteNodeParams__Output } from '../../kubeha/v1/DeleteNodeParams.ts';
import type { LeaveLoadBalancerParams as _kubeha_v1_LeaveLoadBalancerParams, LeaveLoadBalancerParams__Output as _kubeha_v1_LeaveLoadBalancerParams__Output } from '../../kubeha/v1/LeaveLoadBalancerParams.ts';
import type { CertsRenewParams as _kubeha_v1_CertsRenewParams, CertsRenewParams__Output as _kubeha_v1_CertsRenewParams__Output } from '../../kubeha/v1/CertsRenewParams.ts';
import type { EtcdSnapshotParams as _kubeha_v1_EtcdSnapshotParams, EtcdSnapshotParams__Output as _kubeha_v1_EtcdSnapshotParams__Output } from '../../kubeha/v1/EtcdSnapshotParams.ts';
import type { EtcdRestoreStopParams as _kubeha_v1_EtcdRestoreStopParams, EtcdRestoreStopParams__Output as _kubeha_v1_EtcdRestoreStopParams__Output } from '../../kubeha/v1/EtcdRestoreStopParams.ts';
import type { EtcdRestoreMemberParams as _kubeha_v1_EtcdRestoreMemberParams, EtcdRestoreMemberParams__Output as _kubeha_v1_EtcdRestoreMemberParams__Output } from '../../kubeha/v1/EtcdRestoreMemberParams.ts';
import type { EtcdRestoreStartParams as _kubeha_v1_EtcdRestoreStartParams, EtcdRestoreStartParams__Output as _kubeha_v1_EtcdRestoreStartParams__Output } from '../../kubeha/v1/EtcdRestoreStartParams.ts';

export interface RunStep {
  'run_id'?: (string);
  'step_id'?: (string);
  'attempt'?: (number);
  'timeout_seconds'?: (number);
  'dry_run'?: (boolean);
  'preflight'?: (_kubeha_v1_PreflightParams | null);
  'host_prep'?: (_kubeha_v1_HostPrepParams | null);
  'container_runtime'?: (_kubeha_v1_ContainerRuntimeParams | null);
  'kube_packages'?: (_kubeha_v1_KubePackagesParams | null);
  'load_balancer'?: (_kubeha_v1_LoadBalancerParams | null);
  'kubeadm_init'?: (_kubeha_v1_KubeadmInitParams | null);
  'kubeadm_join'?: (_kubeha_v1_KubeadmJoinParams | null);
  'join_credentials'?: (_kubeha_v1_JoinCredentialsParams | null);
  'kubeadm_reset'?: (_kubeha_v1_KubeadmResetParams | null);
  'remove_etcd_member'?: (_kubeha_v1_RemoveEtcdMemberParams | null);
  'cni'?: (_kubeha_v1_CniParams | null);
  'verify'?: (_kubeha_v1_VerifyParams | null);
  'failover_drill_action'?: (_kubeha_v1_FailoverDrillActionParams | null);
  'drain_node'?: (_kubeha_v1_DrainNodeParams | null);
  'delete_node'?: (_kubeha_v1_DeleteNodeParams | null);
  'leave_load_balancer'?: (_kubeha_v1_LeaveLoadBalancerParams | null);
  'certs_renew'?: (_kubeha_v1_CertsRenewParams | null);
  'etcd_snapshot'?: (_kubeha_v1_EtcdSnapshotParams | null);
  'etcd_restore_stop'?: (_kubeha_v1_EtcdRestoreStopParams | null);
  'etcd_restore_member'?: (_kubeha_v1_EtcdRestoreMemberParams | null);
  'etcd_restore_start'?: (_kubeha_v1_EtcdRestoreStartParams | null);
  'params'?: "preflight"|"host_prep"|"container_runtime"|"kube_packages"|"load_balancer"|"kubeadm_init"|"kubeadm_join"|"join_credentials"|"kubeadm_reset"|"remove_etcd_member"|"cni"|"verify"|"failover_drill_action"|"drain_node"|"delete_node"|"leave_load_balancer"|"certs_renew"|"etcd_snapshot"|"etcd_restore_stop"|"etcd_restore_member"|"etcd_restore_start";
}

export interface RunStep__Output {
  'run_id': (string);
  'step_id': (string);
  'attempt': (number);
  'timeout_seconds': (number);
  'dry_run': (boolean);
  'preflight'?: (_kubeha_v1_PreflightParams__Output | null);
  'host_prep'?: (_kubeha_v1_HostPrepParams__Output | null);
  'container_runtime'?: (_kubeha_v1_ContainerRuntimeParams__Output | null);
  'kube_packages'?: (_kubeha_v1_KubePackagesParams__Output | null);
  'load_balancer'?: (_kubeha_v1_LoadBalancerParams__Output | null);
  'kubeadm_init'?: (_kubeha_v1_KubeadmInitParams__Output | null);
  'kubeadm_join'?: (_kubeha_v1_KubeadmJoinParams__Output | null);
  'join_credentials'?: (_kubeha_v1_JoinCredentialsParams__Output | null);
  'kubeadm_reset'?: (_kubeha_v1_KubeadmResetParams__Output | null);
  'remove_etcd_member'?: (_kubeha_v1_RemoveEtcdMemberParams__Output | null);
  'cni'?: (_kubeha_v1_CniParams__Output | null);
  'verify'?: (_kubeha_v1_VerifyParams__Output | null);
  'failover_drill_action'?: (_kubeha_v1_FailoverDrillActionParams__Output | null);
  'drain_node'?: (_kubeha_v1_DrainNodeParams__Output | null);
  'delete_node'?: (_kubeha_v1_DeleteNodeParams__Output | null);
  'leave_load_balancer'?: (_kubeha_v1_LeaveLoadBalancerParams__Output | null);
  'certs_renew'?: (_kubeha_v1_CertsRenewParams__Output | null);
  'etcd_snapshot'?: (_kubeha_v1_EtcdSnapshotParams__Output | null);
  'etcd_restore_stop'?: (_kubeha_v1_EtcdRestoreStopParams__Output | null);
  'etcd_restore_member'?: (_kubeha_v1_EtcdRestoreMemberParams__Output | null);
  'etcd_restore_start'?: (_kubeha_v1_EtcdRestoreStartParams__Output | null);
  'params'?: "preflight"|"host_prep"|"container_runtime"|"kube_packages"|"load_balancer"|"kubeadm_init"|"kubeadm_join"|"join_credentials"|"kubeadm_reset"|"remove_etcd_member"|"cni"|"verify"|"failover_drill_action"|"drain_node"|"delete_node"|"leave_load_balancer"|"certs_renew"|"etcd_snapshot"|"etcd_restore_stop"|"etcd_restore_member"|"etcd_restore_start";
}
