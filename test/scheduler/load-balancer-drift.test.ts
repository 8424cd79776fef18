import { afterEach, describe, expect, it } from 'vitest';
import type { SimAgent } from '../sim/sim-agent.ts';
import { type SimCoordinator, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript, startSimFleet, stopSimFleet } from '../sim/sim-fleet.ts';
import { waitFor } from '../support/wait-for.ts';

let sim: SimCoordinator | undefined;
let agents: SimAgent[] = [];

afterEach(async () => {
  await stopSimFleet(agents, sim);
  sim = undefined;
});

describe('a load balancer a removal went past while its agent was away', () => {
  it('GIVEN cp2 away for minutes WHEN cp3 is removed THEN cp2 is left out; WHEN cp2 is back THEN a reconcile run gives it the new peers and backends', async () => {
    let offsetMs = 0;
    sim = await startSimCoordinator({ schedulerNow: () => Date.now() + offsetMs });
    const fleet = await startSimFleet(sim, {
      name: 'drift',
      controlPlanes: 3,
      workers: 1,
      script: simScript({ default: 5 }),
    });
    agents = fleet.agents;
    const { executions, spec } = fleet;
    await waitFor('every agent connected', () => agents.every((a) => a.connected));
    await sim.api.request('POST', '/v1/clusters', spec);
    const first = await sim.api.request<{ id: string }>('POST', '/v1/clusters/drift/runs', { kind: 'deploy' });
    expect((await waitForRunEnd(sim.api, first.id)).state).toBe('succeeded');

    // GIVEN cp2's agent gone, and three minutes passing on the coordinator's clock
    const cp2Agent = agents.find((a) => a.options.node === 'cp2')!;
    // Back by itself after 8 s (the removal below takes about one).
    cp2Agent.disconnectFor(8_000);
    await waitFor('cp2 seen disconnected', async () => {
      const list = await sim!.api.request<{ agents: { hostname: string; connected: boolean }[] }>('GET', '/v1/agents');
      return list.agents.some((a) => a.hostname === 'cp2' && !a.connected);
    });
    offsetMs = 3 * 60_000;

    // WHEN cp3 is removed
    const smaller = {
      ...spec,
      spec: { ...spec.spec, allowEvenControlPlanes: true, nodes: spec.spec.nodes.filter((n) => n.name !== 'cp3') },
    };
    await sim.api.request('PUT', '/v1/clusters/drift', smaller);
    const removal = await sim.api.request<{ id: string }>('POST', '/v1/clusters/drift/runs', { kind: 'deploy' });
    const removed = await waitForRunEnd(sim.api, removal.id);
    expect(removed.state, JSON.stringify(removed.steps.filter((s) => s.error))).toBe('succeeded');
    // THEN nothing of it ran on cp2, and cp1 was given the new set
    expect(removed.steps.filter((s) => s.node === 'cp2')).toEqual([]);
    const inRemoval = executions.filter((e) => e.runId === removal.id);
    expect(inRemoval.find((e) => e.stepId === 'load-balancer/cp1')?.params['backends']).toEqual([
      { name: 'cp1', address: '10.10.0.11', role: 'control-plane' },
      { name: 'cp2', address: '10.10.0.12', role: 'control-plane' },
    ]);
    expect(sim.logs.join('')).not.toContain('load-balancer reconcile started');

    // WHEN cp2's agent is back
    const reconcile = await waitFor(
      'a load-balancer-reconcile run',
      async () => {
        const { runs } = await sim!.api.request<{ runs: { id: string; kind: string }[] }>(
          'GET',
          '/v1/runs?cluster=drift',
        );
        return runs.find((r) => r.kind === 'load-balancer-reconcile');
      },
      // 1 s after cp2 reconnects, or at the next 30 s look when the removal was still going on then.
      45_000,
    );
    const done = await waitForRunEnd(sim.api, reconcile.id);
    expect(done.state).toBe('succeeded');
    // THEN cp2 got the peers and backends without cp3, after cp1 (lowest priority first: cp2 then cp1)
    const cp2Step = executions.find((e) => e.runId === reconcile.id && e.stepId === 'load-balancer/cp2')!;
    expect(cp2Step.params['unicastPeers']).toEqual(['10.10.0.11']);
    expect((cp2Step.params['backends'] as { name: string }[]).map((b) => b.name)).toEqual(['cp1', 'cp2']);
    expect(done.steps.map((s) => s.id)).toEqual(['load-balancer/cp2', 'load-balancer/cp1']);
    // AND once in line nothing more is started
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const { runs } = await sim.api.request<{ runs: { kind: string }[] }>('GET', '/v1/runs?cluster=drift');
    expect(runs.filter((r) => r.kind === 'load-balancer-reconcile')).toHaveLength(1);
  }, 90_000);
});
