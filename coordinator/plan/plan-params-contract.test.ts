import { describe, expect, it } from 'vitest';
import { cleanupFailedJoinStep } from '../../agent/steps/cleanup-failed-join.ts';
import { containerRuntimeStep } from '../../agent/steps/container-runtime.ts';
import { hostPrepStep } from '../../agent/steps/host-prep.ts';
import { kubePackagesStep } from '../../agent/steps/kube-packages.ts';
import { kubeadmInitStep } from '../../agent/steps/kubeadm-init.ts';
import { kubeadmJoinStep } from '../../agent/steps/kubeadm-join.ts';
import { parseLoadBalancerParams } from '../../agent/steps/load-balancer.ts';
import { preflightStep } from '../../agent/steps/preflight.ts';
import { requireClusterSpec } from '../spec/parse-cluster-spec.ts';
import { planRun } from './plan-run.ts';
import type { PlannedStep } from './run-plan.ts';

/** The agent's own parameter parsers: the planner's params must pass them once the scheduler adds the secrets. */
const parsers: Record<string, (raw: unknown) => unknown> = {
  preflight: (raw) => preflightStep.parseParams(raw),
  'host-prep': (raw) => hostPrepStep.parseParams(raw),
  'container-runtime': (raw) => containerRuntimeStep.parseParams(raw),
  'kube-packages': (raw) => kubePackagesStep.parseParams(raw),
  'load-balancer': parseLoadBalancerParams,
  'kubeadm-init': (raw) => kubeadmInitStep.parseParams(raw),
  'kubeadm-join': (raw) => kubeadmJoinStep.parseParams(raw),
  'cleanup-failed-join': (raw) => cleanupFailedJoinStep.parseParams(raw),
};

/** What the scheduler adds at dispatch time (DESIGN §2: just-in-time credentials), with valid dummy values. */
function withSecrets(step: PlannedStep): Record<string, unknown> {
  const token = 'abcdef.0123456789abcdef';
  const key = 'a'.repeat(64);
  switch (step.kind) {
    case 'kubeadm-init':
      return { ...step.params, bootstrapToken: token, certificateKey: key };
    case 'kubeadm-join':
      return {
        ...step.params,
        bootstrapToken: token,
        caCertHashes: [`sha256:${'b'.repeat(64)}`],
        ...(step.params.controlPlane ? { certificateKey: key } : {}),
      };
    case 'load-balancer':
      return { ...step.params, authPass: 'k8sVRRP1' };
    default:
      return step.params;
  }
}

function specWith(endpoint: Record<string, unknown>, extraNodes: unknown[] = []) {
  return requireClusterSpec({
    apiVersion: 'kubeha.io/v1',
    kind: 'Cluster',
    metadata: { name: 'lab' },
    spec: {
      kubernetesVersion: '1.31.4',
      endpoint,
      networking: { cni: 'calico' },
      hostPolicy: { firewall: 'disabled', selinux: 'enforcing' },
      nodes: [
        { name: 'k8s-master1', address: '192.168.1.10/24', role: 'control-plane' },
        { name: 'k8s-master2', address: '192.168.1.11/24', role: 'control-plane' },
        { name: 'k8s-master3.example.com', address: '192.168.1.12/24', role: 'control-plane' },
        { name: 'k8s-worker1', address: '192.168.1.20/24', role: 'worker' },
        ...extraNodes,
      ],
    },
  });
}

describe('the planner\u2019s parameters pass the agent\u2019s own step parsers', () => {
  const plans = {
    'haproxy-keepalived': planRun('deploy', specWith({ vip: '192.168.1.100', interface: 'ens192' })),
    keepalived: planRun('deploy', specWith({ mode: 'keepalived', vip: '192.168.1.100', interface: 'ens192' })),
    'dedicated load balancers': planRun(
      'deploy',
      specWith({ vip: '10.152.0.6', interface: 'ens224' }, [
        { name: 'lb1', address: '192.168.1.5/24', role: 'load-balancer', interface: 'ens224' },
        { name: 'lb2', address: '192.168.1.6/24', role: 'load-balancer', interface: 'ens224' },
      ]),
    ),
    reset: planRun('reset', specWith({ vip: '192.168.1.100', interface: 'ens192' })),
  };

  for (const [name, plan] of Object.entries(plans)) {
    const checked = plan.steps.filter((s) => s.runsOn === 'agent' && parsers[s.kind]);
    it.each(checked.map((s) => [s.id, s] as const))(`${name}: %s`, (_id, step) => {
      expect(() => parsers[step.kind]!(withSecrets(step))).not.toThrow();
    });
  }

  it('checks every agent step kind of a deploy except those the agent does not have yet', () => {
    const kinds = new Set(plans['haproxy-keepalived'].steps.filter((s) => s.runsOn === 'agent').map((s) => s.kind));
    expect([...kinds].filter((k) => !parsers[k]).sort()).toEqual(['cni', 'verify']);
  });
});
