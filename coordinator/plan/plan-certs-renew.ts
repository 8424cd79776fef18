import type { PlannedStepParams } from '../../proto/step-params/step-params-by-kind.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { PlannedStep, RetryPolicy } from './run-plan.ts';
import { controlPlanesOf } from './spec-step-params.ts';

/**
 * kubeadm issues certificates for 365 days: one with more than 364 days left was renewed within the last day, so a
 * repeated or resumed run does not renew a control plane again, and the step's own second check finds nothing.
 */
export const renewUnlessRenewedWithinDays = 364;

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
export function planCertsRenew(spec: ClusterSpec): PlannedStep[] {
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
        onlyIfExpiresWithinDays: renewUnlessRenewedWithinDays,
        apiserverAddress: node.address,
        restartTimeoutSeconds,
      } satisfies PlannedStepParams<'certs-renew'>,
    };
    steps.push(step);
    previous = [step.id];
  }
  return steps;
}
