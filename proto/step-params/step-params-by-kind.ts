import type { CertsRenewParams } from './certs-renew-params.ts';
import type { CniParams } from './cni-params.ts';
import type { ContainerRuntimeParams } from './container-runtime-params.ts';
import type { DeleteNodeParams } from './delete-node-params.ts';
import type { DrainNodeParams } from './drain-node-params.ts';
import type { EtcdRestoreMemberParams } from './etcd-restore-member-params.ts';
import type { EtcdRestoreStartParams } from './etcd-restore-start-params.ts';
import type { EtcdRestoreStopParams } from './etcd-restore-stop-params.ts';
import type { EtcdSnapshotParams } from './etcd-snapshot-params.ts';
import type { FailoverDrillActionParams } from './failover-drill-action-params.ts';
import type { HostPrepParams } from './host-prep-params.ts';
import type { JoinCredentialsParams } from './join-credentials-params.ts';
import type { KubePackagesParams } from './kube-packages-params.ts';
import type { KubeadmInitParams } from './kubeadm-init-params.ts';
import type { KubeadmJoinParams } from './kubeadm-join-params.ts';
import type { KubeadmResetParams } from './kubeadm-reset-params.ts';
import type { LeaveLoadBalancerParams } from './leave-load-balancer-params.ts';
import type { LoadBalancerParams } from './load-balancer-params.ts';
import type { PreflightParams } from './preflight-params.ts';
import type { RemoveEtcdMemberParams } from './remove-etcd-member-params.ts';
import type { VerifyParams } from './verify-params.ts';

/** Each agent step kind's parameters, as the agent parses them (the RunStep params oneof, camelCase). */
export interface StepParamsByKind {
  preflight: PreflightParams;
  'host-prep': HostPrepParams;
  'container-runtime': ContainerRuntimeParams;
  'kube-packages': KubePackagesParams;
  'load-balancer': LoadBalancerParams;
  'kubeadm-init': KubeadmInitParams;
  cni: CniParams;
  'kubeadm-join': KubeadmJoinParams;
  'join-credentials': JoinCredentialsParams;
  'remove-etcd-member': RemoveEtcdMemberParams;
  'kubeadm-reset': KubeadmResetParams;
  verify: VerifyParams;
  'failover-drill-action': FailoverDrillActionParams;
  'drain-node': DrainNodeParams;
  'delete-node': DeleteNodeParams;
  'leave-load-balancer': LeaveLoadBalancerParams;
  'certs-renew': CertsRenewParams;
  'etcd-snapshot': EtcdSnapshotParams;
  'etcd-restore-stop': EtcdRestoreStopParams;
  'etcd-restore-member': EtcdRestoreMemberParams;
  'etcd-restore-start': EtcdRestoreStartParams;
}

export type AgentStepKind = keyof StepParamsByKind;

/** The secrets and values the scheduler adds when it dispatches a step: never in a plan or the store. */
interface FilledAtDispatch {
  'kubeadm-init': 'bootstrapToken' | 'certificateKey';
  'kubeadm-join': 'bootstrapToken' | 'caCertHashes' | 'certificateKey';
  'load-balancer': 'authPass';
  'join-credentials': 'token' | 'certificateKey';
}

/** Parameters the coordinator never sends: the agent's default is the value. */
interface AgentDefaultsOnly {
  'join-credentials': 'minRemainingSeconds';
  verify: 'nodeName';
  'container-runtime': 'sandboxImage';
  cni: 'manifestPath';
  'etcd-snapshot': 'chunkBytes';
}

type Dropped<K extends AgentStepKind> =
  | (K extends keyof FilledAtDispatch ? FilledAtDispatch[K] : never)
  | (K extends keyof AgentDefaultsOnly ? AgentDefaultsOnly[K] : never);

/**
 * A step's parameters as the coordinator plans and stores them: fields the agent parses, less the secrets added at
 * dispatch and the fields only the agent defaults. A wrong name or type is a compile error; a field left out takes
 * the agent's default (the schema's defaults are not visible to the compiler, so a missing required field is caught by
 * the plan-params contract test instead).
 */
export type PlannedStepParams<K extends AgentStepKind> = Partial<Omit<StepParamsByKind[K], Dropped<K>>>;
