/**
 * Every step kind the agent knows, by its wire name. A RunStep for any other kind is refused.
 * To add a step: import its definition and add one entry below.
 */

import type { StepDefinition } from '../step-execution/step.ts';
import { certsRenewStep } from './certs-renew.ts';
import { cniStep } from './cni.ts';
import { containerRuntimeStep } from './container-runtime.ts';
import { deleteNodeStep } from './delete-node.ts';
import { drainNodeStep } from './drain-node.ts';
import { etcdRestoreMemberStep } from './etcd-restore-member.ts';
import { etcdRestoreStartStep } from './etcd-restore-start.ts';
import { etcdRestoreStopStep } from './etcd-restore-stop.ts';
import { etcdSnapshotStep } from './etcd-snapshot.ts';
import { failoverDrillActionStep } from './failover-drill-action.ts';
import { hostPrepStep } from './host-prep.ts';
import { joinCredentialsStep } from './join-credentials.ts';
import { kubePackagesStep } from './kube-packages.ts';
import { kubeadmInitStep } from './kubeadm-init.ts';
import { kubeadmJoinStep } from './kubeadm-join.ts';
import { kubeadmResetStep } from './kubeadm-reset.ts';
import { leaveLoadBalancerStep } from './leave-load-balancer.ts';
import { loadBalancerStep } from './load-balancer.ts';
import { preflightStep } from './preflight.ts';
import { removeEtcdMemberStep } from './remove-etcd-member.ts';
import { verifyStep } from './verify.ts';

const definitions: StepDefinition<unknown>[] = [
  // Node preparation.
  preflightStep,
  hostPrepStep,
  containerRuntimeStep,
  kubePackagesStep,
  // kubeadm, CNI, verification and the failover drill.
  kubeadmInitStep,
  kubeadmJoinStep,
  joinCredentialsStep,
  kubeadmResetStep,
  removeEtcdMemberStep,
  cniStep,
  verifyStep,
  failoverDrillActionStep,
  // The HA endpoint: keepalived and HAProxy.
  loadBalancerStep,
  // Removing a node: on a healthy control plane, and on the node leaving the load balancers.
  drainNodeStep,
  deleteNodeStep,
  leaveLoadBalancerStep,
  // Certificates: renewed on one control plane, its static pods restarted.
  certsRenewStep,
  // etcd snapshots, sent to the coordinator.
  etcdSnapshotStep,
  // The etcd restore: static pods stopped, members restored and joined, apiservers started.
  etcdRestoreStopStep,
  etcdRestoreMemberStep,
  etcdRestoreStartStep,
  // Further steps: one line each.
];

export const stepRegistry: ReadonlyMap<string, StepDefinition<unknown>> = new Map(definitions.map((d) => [d.kind, d]));

export function stepDefinition(kind: string): StepDefinition<unknown> | undefined {
  return stepRegistry.get(kind);
}
