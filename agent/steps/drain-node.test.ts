import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { drainNodeStep } from './drain-node.ts';

const admin = ['--kubeconfig', '/etc/kubernetes/admin.conf'];
const getNode = [...admin, 'get', 'node', 'w3', '--ignore-not-found', '-o', 'json'];
const getPods = [...admin, 'get', 'pods', '--all-namespaces', '--field-selector', 'spec.nodeName=w3', '-o', 'json'];
const cordon = [...admin, 'cordon', 'w3'];
const drain = (timeout: number) => [
  ...admin,
  'drain',
  'w3',
  '--ignore-daemonsets',
  '--delete-emptydir-data',
  `--timeout=${timeout}s`,
];
const getBudgets = [...admin, '-n', 'shop', 'get', 'poddisruptionbudgets', '-o', 'json'];

const webPod = (name: string) => ({
  metadata: {
    namespace: 'shop',
    name,
    labels: { app: 'web' },
    ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d9', controller: true }],
  },
});
const flannelPod = {
  metadata: {
    namespace: 'kube-flannel',
    name: 'kube-flannel-ds-w3',
    ownerReferences: [{ kind: 'DaemonSet', name: 'kube-flannel-ds', controller: true }],
  },
};
const webBudget = {
  metadata: { namespace: 'shop', name: 'web' },
  spec: { selector: { matchLabels: { app: 'web' } }, minAvailable: 2 },
  status: { disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 },
};

/** A worker in the apiserver: schedulable or not, with its pods. */
function cluster(initial: { unschedulable: boolean; pods: object[] } | undefined) {
  const host = new FakeHost();
  const state = { node: initial };
  host.stub('kubectl', getNode, {
    stdout: () => (state.node ? JSON.stringify({ spec: { unschedulable: state.node.unschedulable } }) : ''),
  });
  host.stub('kubectl', getPods, { stdout: () => JSON.stringify({ items: state.node?.pods ?? [] }) });
  return { host, state };
}

describe('drain-node', () => {
  it('GIVEN a schedulable worker running a Deployment pod and a DaemonSet pod WHEN run THEN cordon, then drain; a second run changes nothing', async () => {
    const { host, state } = cluster({ unschedulable: false, pods: [webPod('web-1'), flannelPod] });
    host.expect('kubectl', cordon, {
      effect: () => {
        state.node!.unschedulable = true;
      },
    });
    host.expect('kubectl', drain(120), {
      effect: () => {
        state.node!.pods = [flannelPod];
      },
    });

    const result = await runStep(drainNodeStep, { nodeName: 'w3', timeoutSeconds: 120, dead: false }, { host });

    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true, outputs: { cordoned: 'true' } });
    expect(result.changes).toEqual([
      'kubectl cordon w3',
      'kubectl drain w3 --ignore-daemonsets --delete-emptydir-data --timeout=120s (shop/web-1)',
    ]);
    const again = await runStep(drainNodeStep, { nodeName: 'w3', timeoutSeconds: 120 }, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
  });

  it('GIVEN a PodDisruptionBudget that allows no disruption WHEN the drain times out THEN the failure names the pod and the budget, and the node stays cordoned', async () => {
    const { host, state } = cluster({ unschedulable: false, pods: [webPod('web-1'), webPod('web-2'), flannelPod] });
    host.expect('kubectl', cordon, {
      effect: () => {
        state.node!.unschedulable = true;
      },
    });
    host.expect('kubectl', drain(30), {
      exitCode: 1,
      stderr:
        'error when evicting pods/"web-1" -n "shop" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.\n' +
        'error: unable to drain node "w3" due to error: [error when evicting pods/"web-1" -n "shop": global timeout reached: 30s], continuing command...\n',
    });
    host.expect('kubectl', getBudgets, { stdout: JSON.stringify({ items: [webBudget] }) });

    const result = await runStep(drainNodeStep, { nodeName: 'w3', timeoutSeconds: 30 }, { host });

    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('failed');
    expect(result.outputs).toEqual({ cordoned: 'true' });
    expect(result.error).toMatchObject({
      command:
        'kubectl --kubeconfig /etc/kubernetes/admin.conf drain w3 --ignore-daemonsets --delete-emptydir-data --timeout=30s',
      exitCode: 1,
      stderrTail: expect.stringContaining('global timeout reached: 30s'),
    });
    expect(result.error?.message).toBe(
      'drain-node: drain of w3 did not finish within 30 s (kubectl --kubeconfig /etc/kubernetes/admin.conf drain w3 ' +
        '--ignore-daemonsets --delete-emptydir-data --timeout=30s exited with 1): blocked by ' +
        'shop/web-1 (PodDisruptionBudget shop/web allows 0 disruptions (minAvailable 2; 2 healthy, 2 needed)), ' +
        'shop/web-2 (PodDisruptionBudget shop/web allows 0 disruptions (minAvailable 2; 2 healthy, 2 needed)). ' +
        'w3 is left cordoned (kubectl uncordon w3 undoes it)',
    );
    expect(state.node!.unschedulable).toBe(true);
  });

  it('GIVEN a dead node WHEN run THEN it is only cordoned: no eviction can finish without its kubelet', async () => {
    const { host, state } = cluster({ unschedulable: false, pods: [webPod('web-1')] });
    host.expect('kubectl', cordon, {
      effect: () => {
        state.node!.unschedulable = true;
      },
    });
    const result = await runStep(drainNodeStep, { nodeName: 'w3', dead: true }, { host });
    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changes: ['kubectl cordon w3'] });
  });

  it('GIVEN the Node is already gone WHEN run THEN no change', async () => {
    const { host } = cluster(undefined);
    const result = await runStep(drainNodeStep, { nodeName: 'w3' }, { host });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: false, outputs: {} });
    host.assertNoPendingExpectations();
  });

  it('GIVEN no timeout sent (proto3 zero) WHEN parsed THEN the default 300 s; bad values refused naming the field', () => {
    const defaults = { nodeName: 'w3', timeoutSeconds: 300, dead: false };
    expect(drainNodeStep.parseParams({ nodeName: 'w3' })).toEqual(defaults);
    expect(drainNodeStep.parseParams({ nodeName: 'w3', timeoutSeconds: 0, dead: false })).toEqual(defaults);
    expect(() => drainNodeStep.parseParams({ nodeName: 'w3', timeoutSeconds: -1 })).toThrow(
      /drain-node\.timeoutSeconds: must be >= 1/,
    );
    expect(() => drainNodeStep.parseParams({ nodeName: 'w3 --force' })).toThrow(/drain-node\.nodeName: must match/);
  });
});
