import type { PlannedStepParams } from '../../proto/step-params/step-params-by-kind.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { ClusterState, PlannedStep, RetryPolicy } from './run-plan.ts';
import { controlPlanesOf } from './spec-step-params.ts';

/** How long kubeadm's leaf certificates are valid: kubeha leaves kubeadm's default. */
export const kubeadmCertificateValidityMs = 365 * 86_400_000;

/** How far a node's clock may lag the coordinator's without its fresh renewal looking older than the request. */
const clockSkewAllowanceMs = 2 * 60_000;

/**
 * What the run must renew: every certificate not renewed since the run was asked for, i.e. expiring before then plus
 * kubeadm's validity. A resumed or retried step renews nothing twice, and the step's own second check finds nothing.
 */
export function renewIfExpiresBefore(requestedAt: number): string {
  return new Date(requestedAt + kubeadmCertificateValidityMs - clockSkewAllowanceMs).toISOString();
}

/** A second attempt finishes what the first left (a restart half-done, an agent that reconnected). */
const certsRenewRetry: RetryPolicy = { maxAttempts: 2, initialBackoffMs: 10_000, maxBackoffMs: 10_000 };

/** Each wait of a control plane's restart (the kubelet stopping its static pods, then serving again). */
const restartTimeoutSeconds = 300;
/** kubeadm certs renew all, then the two waits of the restart. */
const certsRenewTimeoutSeconds = 900;

/**
 * The renewal run: `kubeadm certs renew all` and a restart of the static pods on one control plane at a time, each
 * waiting until its apiserver serves the renewed certificate and its etcd member is healthy before the next one
 * starts, so the other control planes keep the endpoint and etcd's quorum. Each step reports the node's renewed
 * admin.conf, which the coordinator keeps as the cluster's kubeconfig.
 */
export function planCertsRenew(spec: ClusterSpec, state: ClusterState): PlannedStep[] {
  const before = renewIfExpiresBefore(state.requestedAt ?? 0);
  const steps: PlannedStep[] = [];
  let previous: string[] = [];
  for (const node of controlPlanesOf(spec)) {
    const step: PlannedStep = {
      id: `certs-renew/${node.name}`,
      kind: 'certs-renew',
      phase: 'certs-renew',
      runsOn: 'agent',
      node: node.name,
      dependsOn: previous,
      timeoutSeconds: certsRenewTimeoutSeconds,
      retry: certsRenewRetry,
      params: {
        renewIfExpiresBefore: before,
        apiserverAddress: node.address,
        restartTimeoutSeconds,
      } satisfies PlannedStepParams<'certs-renew'>,
    };
    steps.push(step);
    previous = [step.id];
  }
  return steps;
}
