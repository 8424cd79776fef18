import { describe, expect, it } from 'vitest';
import type { AgentsConnectedReport } from '../../coordinator/scheduler/coordinator-steps/agents-connected.ts';
import { type RunView, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript, startSimFleet } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { waitFor } from '../support/wait-for.ts';

const t = simFleetPerTest();

function stepOf(run: RunView, kind: string) {
  const step = run.steps.find((s) => s.kind === kind);
  if (!step) throw new Error(`run ${run.id} has no ${kind} step`);
  return step;
}

function agentsReport(run: RunView): AgentsConnectedReport {
  return JSON.parse(stepOf(run, 'agents-connected').report ?? 'null') as AgentsConnectedReport;
}

async function agentOffline(hostname: string): Promise<void> {
  await waitFor(`the coordinator to see ${hostname} offline`, async () =>
    (await t.sim!.api.request<{ agents: { hostname: string; connected: boolean }[] }>('GET', '/v1/agents')).agents.some(
      (a) => a.hostname === hostname && !a.connected,
    ),
  );
}

async function verify(cluster: string): Promise<RunView> {
  const started = await t.sim!.api.request<{ id: string }>('POST', `/v1/clusters/${cluster}/runs`, { kind: 'verify' });
  return waitForRunEnd(t.sim!.api, started.id);
}

describe('a verify run checks that every node still has its agent', () => {
  it('GIVEN a deployed cluster WHEN a worker agent stops and another is revoked THEN verify fails naming both nodes, and the health report still comes', async () => {
    t.sim = await startSimCoordinator();
    const fleet = await startSimFleet(t.sim, {
      name: 'va',
      controlPlanes: 1,
      workers: 2,
      heartbeatMs: 100,
      script: simScript({ default: 5 }, (step) =>
        step.kind === 'verify' ? { outputs: { report: JSON.stringify({ ok: true }) }, changed: false } : undefined,
      ),
    });
    t.agents = fleet.agents;
    await t.sim.api.request('POST', '/v1/clusters', fleet.spec);
    const deploy = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/va/runs', { kind: 'deploy' });
    expect((await waitForRunEnd(t.sim.api, deploy.id)).state).toBe('succeeded');

    // GIVEN every agent connected THEN verify succeeds and its agents-connected step says so, node by node
    const green = await verify('va');
    expect(green.state).toBe('succeeded');
    expect(stepOf(green, 'agents-connected')).toMatchObject({ id: 'agents-connected', node: 'coordinator' });
    const greenReport = agentsReport(green);
    expect(greenReport.ok).toBe(true);
    expect(greenReport.nodes.map((n) => [n.node, n.state])).toEqual([
      ['cp1', 'connected'],
      ['w1', 'connected'],
      ['w2', 'connected'],
    ]);

    // WHEN w1's agent stops and w2's is revoked
    const w1 = t.agents.find((a) => a.options.node === 'w1')!;
    await w1.stop();
    await agentOffline('w1');
    const { agents } = await t.sim.api.request<{ agents: { id: string; hostname: string }[] }>('GET', '/v1/agents');
    const w2Agent = agents.find((a) => a.hostname === 'w2')!;
    await t.sim.api.request('DELETE', `/v1/agents/${w2Agent.id}`);

    // THEN the verify run fails, through the API, naming each node and what became of its agent
    const red = await verify('va');
    expect(red.state).toBe('failed');
    const check = stepOf(red, 'agents-connected');
    expect(check.state).toBe('failed');
    expect(check.attempt).toBe(1);
    expect(check.error?.code).toBe('KUBEHA_UNAVAILABLE');
    expect(check.error?.message).toMatch(
      /node w1 \(10\.\S+\): its agent \S+ \(w1\) is not connected, last heartbeat \d{4}-/,
    );
    expect(check.error?.message).toContain('node w2 (');
    expect(check.error?.message).toContain('no agent serves it');
    expect(red.error).toMatch(/^agents-connected: node w1 /);
    const report = agentsReport(red);
    expect(report.ok).toBe(false);
    expect(report.nodes.map((n) => [n.node, n.state])).toEqual([
      ['cp1', 'connected'],
      ['w1', 'offline'],
      ['w2', 'no agent'],
    ]);
    expect(report.nodes.find((n) => n.node === 'w1')?.lastHeartbeatAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    // AND the health check on cp1 ran to its end, with its report
    expect(stepOf(red, 'verify')).toMatchObject({ state: 'succeeded', report: JSON.stringify({ ok: true }) });
  });

  it('GIVEN the agent of the node verify runs on is gone THEN the run ends at once, the health check skipped, naming that node', async () => {
    // The agent wait is left at its default (10 minutes): the run must not sit on it.
    t.sim = await startSimCoordinator();
    const fleet = await startSimFleet(t.sim, {
      name: 'vb',
      controlPlanes: 1,
      workers: 1,
      heartbeatMs: 100,
      script: simScript({ default: 5 }),
    });
    t.agents = fleet.agents;
    await t.sim.api.request('POST', '/v1/clusters', fleet.spec);
    await waitFor('both agents to connect', async () => {
      const { agents } = await t.sim!.api.request<{ agents: { connected: boolean }[] }>('GET', '/v1/agents');
      return agents.length === 2 && agents.every((a) => a.connected);
    });
    await t.agents.find((a) => a.options.node === 'cp1')!.stop();
    await agentOffline('cp1');

    const run = await verify('vb');
    expect(run.state).toBe('failed');
    expect(stepOf(run, 'verify')).toMatchObject({ id: 'verify/cp1', state: 'skipped' });
    expect(stepOf(run, 'agents-connected').error?.message).toMatch(/^node cp1 \(\S+\): its agent \S+ \(cp1\)/);
    expect(agentsReport(run).nodes.map((n) => [n.node, n.state])).toEqual([
      ['cp1', 'offline'],
      ['w1', 'connected'],
    ]);
    expect(fleet.executions.filter((e) => e.kind === 'verify')).toEqual([]);
  });
});
