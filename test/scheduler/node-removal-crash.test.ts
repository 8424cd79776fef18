import { describe, expect, it } from 'vitest';
import { crashWhenRunReaches, startCoordinatorProcessWithFleet } from '../sim/coordinator-process.ts';
import { waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript } from '../sim/sim-fleet.ts';
import { cleanupsAfterEach } from '../support/cleanups.ts';

const cleanups = cleanupsAfterEach();

describe('a deploy that removes a node, across a coordinator crash', () => {
  it('GIVEN a deployed cluster and a spec without w2 and cp3 WHEN the coordinator is SIGKILLed once cp3 is drained THEN the restarted one removes both, resets them on their own agents, and they are no longer members', async () => {
    const fleet = await startCoordinatorProcessWithFleet({
      prefix: 'kubeha-removal-crash-',
      cleanups,
      name: 'removal',
      controlPlanes: 3,
      workers: 2,
      script: simScript({ default: 30, 'drain-node': 300, 'remove-etcd-member': 300 }),
    });
    const { spec, executions } = fleet;
    let { coordinator } = fleet;
    await coordinator.api.request('POST', '/v1/clusters', spec);
    const first = await coordinator.api.request<{ id: string }>('POST', '/v1/clusters/removal/runs', {
      kind: 'deploy',
    });
    expect((await waitForRunEnd(coordinator.api, first.id, 120_000)).state).toBe('succeeded');

    // GIVEN the spec without cp3 and w2 (two control planes left: the spec must allow an even count)
    const smaller = {
      ...spec,
      spec: {
        ...spec.spec,
        allowEvenControlPlanes: true,
        nodes: spec.spec.nodes.filter((n) => n.name !== 'cp3' && n.name !== 'w2'),
      },
    };
    await coordinator.api.request('PUT', '/v1/clusters/removal', smaller);
    const { id } = await coordinator.api.request<{ id: string }>('POST', '/v1/clusters/removal/runs', {
      kind: 'deploy',
    });

    // WHEN the coordinator dies once cp3's drain is done
    coordinator = await crashWhenRunReaches(
      coordinator,
      id,
      'cp3 drained',
      (run) => run.steps.some((s) => s.id === 'drain-node/cp3' && s.state === 'succeeded') || run.state !== 'running',
    );

    // THEN the run ends, every removal step done once, the resets sent to the removed nodes' own agents
    const ended = await waitForRunEnd(coordinator.api, id, 120_000);
    expect(ended.state, JSON.stringify(ended.steps.filter((s) => s.error))).toBe('succeeded');
    const removal = executions.filter((e) => e.runId === id && !e.dryRun);
    const ran = (stepId: string) => removal.filter((e) => e.stepId === stepId).map((e) => e.node);
    expect(ran('leave-load-balancer/cp3')).toEqual(['cp3']);
    expect(ran('drain-node/cp3')).toEqual(['cp1']);
    expect(ran('remove-etcd-member/cp3')).toEqual(['cp1']);
    expect(ran('delete-node/cp3')).toEqual(['cp1']);
    expect(ran('reset/cp3')).toEqual(['cp3']);
    expect(ran('drain-node/w2')).toEqual(['cp1']);
    expect(ran('reset/w2')).toEqual(['w2']);
    expect(removal.filter((e) => e.kind === 'kubeadm-join')).toEqual([]);
    // AND the applied spec is the smaller one, and a deploy of it again removes nothing more
    const cluster = await coordinator.api.request<{ appliedSpec: { spec: { nodes: { name: string }[] } } }>(
      'GET',
      '/v1/clusters/removal',
    );
    expect(cluster.appliedSpec.spec.nodes.map((n) => n.name)).toEqual(['cp1', 'cp2', 'w1']);
    const again = await coordinator.api.request<{ id: string }>('POST', '/v1/clusters/removal/runs', {
      kind: 'deploy',
    });
    const second = await waitForRunEnd(coordinator.api, again.id, 120_000);
    expect(second.state).toBe('succeeded');
    expect(second.steps.filter((s) => ['drain-node', 'delete-node', 'kubeadm-join'].includes(s.kind))).toEqual([]);
  }, 240_000);
});
