import { describe, expect, it } from 'vitest';
import { runEventsStream } from '../../coordinator/cli/run-events-stream.ts';
import { startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simClusterSpec, simScript, startSimFleet } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { waitFor } from '../support/wait-for.ts';

const t = simFleetPerTest();

describe('drill, verify and reset runs', () => {
  it('GIVEN a deployed cluster whose cp2 holds the VIP WHEN drilled, verified and reset THEN each runs on the right nodes and reset clears the phase', async () => {
    // The endpoint always answers and the VIP never moves (drill-run.test.ts simulates the moves).
    t.sim = await startSimCoordinator({
      scheduler: {
        drill: {
          timing: { probeIntervalMs: 20, observeMs: 200, recoverTimeoutMs: 2_000, settleMs: 100, restoreAttempts: 1 },
          probeFor: () => async () => true,
        },
      },
    });
    const fleet = await startSimFleet(t.sim, {
      name: 'ops-a',
      controlPlanes: 3,
      workers: 2,
      script: simScript({ default: 5 }),
      heartbeatMs: 100,
    });
    const { spec, executions } = fleet;
    t.agents = fleet.agents;
    await t.sim.api.request('POST', '/v1/clusters', spec);
    const deploy = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/ops-a/runs', { kind: 'deploy' });
    expect((await waitForRunEnd(t.sim.api, deploy.id)).state).toBe('succeeded');

    t.agents.find((a) => a.options.node === 'cp2')!.holdsVip = true;
    await waitFor('the VIP holder to be reported', async () => {
      const cluster = await t.sim!.api.request<{ nodes: { name: string; holdsVip: boolean }[] }>(
        'GET',
        '/v1/clusters/ops-a',
      );
      return cluster.nodes.find((n) => n.name === 'cp2')?.holdsVip;
    });
    const drill = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/ops-a/runs', {
      kind: 'drill-failover',
    });
    const drilled = await waitForRunEnd(t.sim.api, drill.id);
    expect(drilled.state).toBe('succeeded');
    const actions = executions.filter((e) => e.kind === 'failover-drill-action');
    expect(actions.every((e) => e.node === 'cp2')).toBe(true);
    expect(actions.map((e) => `${e.params['action']}/${e.params['phase']}`)).toEqual([
      'stop-apiserver/apply',
      'stop-apiserver/restore',
      'stop-haproxy/apply',
      'stop-haproxy/restore',
      'stop-keepalived/apply',
      'stop-keepalived/restore',
    ]);

    const verify = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/ops-a/runs', { kind: 'verify' });
    expect((await waitForRunEnd(t.sim.api, verify.id)).state).toBe('succeeded');

    const reset = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/ops-a/runs', { kind: 'reset' });
    const resetDone = await waitForRunEnd(t.sim.api, reset.id);
    expect(resetDone.state).toBe('succeeded');
    const resets = executions.filter((e) => e.runId === reset.id).map((e) => e.node);
    expect(resets.slice(-3)).toEqual(['cp3', 'cp2', 'cp1']);
    const cluster = await t.sim.api.request<{ initialized: boolean }>('GET', '/v1/clusters/ops-a');
    expect(cluster.initialized).toBe(false);
  });

  it('GIVEN a run in progress WHEN another is started or the cluster is deleted THEN 409', async () => {
    t.sim = await startSimCoordinator();
    const { spec } = simClusterSpec({ name: 'ops-b', controlPlanes: 1, workers: 0 });
    await t.sim.api.request('POST', '/v1/clusters', spec);
    // No agent is enrolled: the run waits for one.
    const run = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/ops-b/runs', {
      kind: 'deploy',
      waitForAgents: true,
    });
    await expect(t.sim.api.request('POST', '/v1/clusters/ops-b/runs', { kind: 'verify' })).rejects.toMatchObject({
      status: 409,
    });
    await expect(t.sim.api.request('DELETE', '/v1/clusters/ops-b')).rejects.toMatchObject({ status: 409 });
    await t.sim.api.request('POST', `/v1/runs/${run.id}/cancel`);
    await expect(t.sim.api.request('POST', `/v1/runs/${run.id}/cancel`)).rejects.toMatchObject({ status: 409 });
    await t.sim.api.request('DELETE', '/v1/clusters/ops-b');
  });

  it('GIVEN a client following a run that waits WHEN the coordinator stops THEN the event stream ends and the API closes', async () => {
    t.sim = await startSimCoordinator();
    const { spec } = simClusterSpec({ name: 'ops-c', controlPlanes: 1, workers: 0 });
    await t.sim.api.request('POST', '/v1/clusters', spec);
    const run = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/ops-c/runs', {
      kind: 'deploy',
      waitForAgents: true,
    });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of runEventsStream(t.sim!.api, run.id)) seen.push(event.message);
    })();
    await waitFor('the first event', () => seen.length > 0);
    await t.sim.coordinator.api.close();
    await reading;
    expect(seen[0]).toContain('deploy run of ops-c started');
  });
});
