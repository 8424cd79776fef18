import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTextFile } from '../../agent/agent-files.ts';
import { type RunningAgent, startAgent } from '../../agent/agent-service.ts';
import { parseAgentConfig } from '../../agent/config.ts';
import { enroll } from '../../agent/enrollment/enroll.ts';
import { type HealthEndpoint, startHealthEndpoint } from '../../agent/health/health-endpoint.ts';
import { FakeHost } from '../../agent/host/fake-host.ts';
import { AgentMetrics } from '../../agent/metrics/agent-metrics.ts';
import type { StepDefinition } from '../../agent/step-execution/step.ts';
import { createLogger } from '../../common/logger.ts';
import type { SimAgent, SimExecution } from '../sim/sim-agent.ts';
import { type SimCoordinator, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import {
  createEnrollToken,
  enrollSimAgents,
  simClusterSpec,
  simFacts,
  simScript,
  stopSimFleet,
} from '../sim/sim-fleet.ts';

let sim: SimCoordinator | undefined;
let agents: SimAgent[] = [];
let realAgent: RunningAgent | undefined;
let health: HealthEndpoint | undefined;
let dir: string | undefined;

afterEach(async () => {
  await realAgent?.stop();
  await health?.stop();
  realAgent = undefined;
  health = undefined;
  await stopSimFleet(agents, sim);
  sim = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The value of one sample ("name{labels}") of a scrape; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Steps that change nothing real: the first check finds one change, applying it makes the second check clean. */
function stubRegistry(kinds: string[]): ReadonlyMap<string, StepDefinition<unknown>> {
  const applied = new Set<string>();
  return new Map(
    kinds.map((kind) => [
      kind,
      {
        kind,
        parseParams: (raw: unknown) => raw,
        check: async () => (applied.has(kind) ? [] : [`${kind}: one change`]),
        apply: async (ctx) => ctx.change(`${kind}: one change`, async () => void applied.add(kind)),
      } satisfies StepDefinition<unknown>,
    ]),
  );
}

describe('Prometheus metrics of the coordinator and an agent as a deploy run proceeds', () => {
  it('GIVEN simulated control planes and a real in-process agent on the worker WHEN a deploy runs (one retry) THEN both /metrics move, and the scrape token opens /metrics only', async () => {
    sim = await startSimCoordinator({ scheduler: { tickMs: 20 } });
    dir = mkdtempSync(join(tmpdir(), 'kubeha-metrics-'));
    const { spec, nodes } = simClusterSpec({ name: 'metrics-a', controlPlanes: 3, workers: 1 });
    const executions: SimExecution[] = [];
    let hostPrepFailures = 0;
    const { token, caCertHash } = await createEnrollToken(sim.api, nodes.length);
    agents = await enrollSimAgents({
      coordinator: sim.grpcAddress,
      caPem: sim.coordinator.caCertificatePem,
      token,
      nodes: nodes.filter((n) => n.role === 'control-plane'),
      executions,
      // host-prep on cp2 fails once, transiently: a retry and a failure by code.
      script: simScript({ default: 30 }, (step) =>
        step.kind === 'host-prep' && step.node === 'cp2' && hostPrepFailures++ === 0 ? { outcome: 'fail' } : undefined,
      ),
      approveWith: sim.api,
    });
    for (const a of agents) a.start();

    // The worker is a real agent: its session, step executor, spool and health endpoint, with stand-in steps.
    const worker = nodes.find((n) => n.role === 'worker')!;
    const stateDir = join(dir, 'w1');
    const enrolled = await enroll({
      coordinator: sim.grpcAddress,
      token,
      caCertHash,
      configPath: join(stateDir, 'agent.yaml'),
      stateDir,
      agentVersion: '0.0.0-test',
      facts: simFacts(worker),
      timeoutMs: 10_000,
    });
    await sim.api.request('POST', `/v1/agents/${enrolled.agentId}/approve`, { node: worker.name });
    const logger = createLogger({ name: 'w1', level: 'fatal' });
    const agentMetrics = new AgentMetrics('0.0.0-test');
    health = await startHealthEndpoint({
      listen: '127.0.0.1:0',
      probeIntervalMs: 200,
      stateDir,
      trackFile: join(stateDir, 'vrrp-status'),
      version: '0.0.0-test',
      coordinatorConnected: () => realAgent?.session.connected ?? false,
      logger,
      metrics: agentMetrics,
    });
    const config = parseAgentConfig(readTextFile(enrolled.configPath), enrolled.configPath);
    realAgent = startAgent(
      parseAgentConfig(
        JSON.stringify({ ...config, heartbeatIntervalSeconds: 0.2, reconnect: { minSeconds: 0.05, maxSeconds: 0.2 } }),
        enrolled.configPath,
      ),
      {
        logger,
        version: '0.0.0-test',
        facts: async () => simFacts(worker),
        host: new FakeHost(),
        steps: stubRegistry(['preflight', 'host-prep', 'container-runtime', 'kube-packages', 'kubeadm-join']),
        health,
        metrics: agentMetrics,
      },
    );

    const coordinatorUrl = `${sim.coordinator.apiUrl}/metrics`;
    const scrapeCoordinator = async () => {
      const res = await fetch(coordinatorUrl, {
        headers: { authorization: `Bearer ${sim!.coordinator.metricsToken}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };
    const scrapeAgent = async () => {
      const res = await fetch(`http://127.0.0.1:${health!.port}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };

    await expect
      .poll(async () => sample(await scrapeCoordinator(), 'kubeha_agents_connected'), { timeout: 10_000 })
      .toBe(4);
    const before = await scrapeCoordinator();
    expect(sample(before, 'kubeha_agents_enrolled')).toBe(4);
    expect(sample(before, 'kubeha_runs{kind="deploy",state="running"}')).toBeUndefined();
    expect(sample(before, 'kubeha_api_sse_clients')).toBe(0);
    const agentBefore = await scrapeAgent();
    expect(sample(agentBefore, 'kubeha_agent_session_connected')).toBe(1);
    expect(
      sample(agentBefore, 'kubeha_agent_step_duration_seconds_count{kind="host-prep",outcome="succeeded"}'),
    ).toBeUndefined();

    await sim.api.request('PUT', '/v1/clusters/metrics-a', spec);
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/metrics-a/runs', { kind: 'deploy' });
    // A reader of the run's events is an SSE client while it reads.
    const events = new AbortController();
    const stream = await fetch(`${sim.coordinator.apiUrl}/v1/runs/${run.id}/events`, {
      headers: { authorization: `Bearer ${sim.coordinator.adminToken}` },
      signal: events.signal,
    });
    expect(stream.status).toBe(200);
    const during = await scrapeCoordinator();
    expect(sample(during, 'kubeha_api_sse_clients')).toBe(1);
    expect(sample(during, 'kubeha_runs{kind="deploy",state="running"}')).toBe(1);
    events.abort();

    const ended = await waitForRunEnd(sim.api, run.id);
    expect(ended.state).toBe('succeeded');
    const after = await scrapeCoordinator();
    expect(sample(after, 'kubeha_runs{kind="deploy",state="succeeded"}')).toBe(1);
    expect(sample(after, 'kubeha_runs{kind="deploy",state="running"}')).toBeUndefined();
    expect(sample(after, 'kubeha_step_duration_seconds_count{kind="host-prep",outcome="succeeded"}')).toBe(4);
    expect(sample(after, 'kubeha_step_duration_seconds_count{kind="host-prep",outcome="failed"}')).toBe(1);
    expect(sample(after, 'kubeha_step_duration_seconds_count{kind="kubeadm-join",outcome="succeeded"}')).toBe(3);
    expect(sample(after, 'kubeha_step_retries_total{kind="host-prep"}')).toBe(1);
    expect(sample(after, 'kubeha_step_failures_total{kind="host-prep",code="KUBEHA_STEP_FAILED"}')).toBe(1);
    expect(sample(after, 'kubeha_scheduler_pass_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(after, 'kubeha_store_transaction_duration_seconds_count{outcome="commit"}')).toBeGreaterThan(
      sample(before, 'kubeha_store_transaction_duration_seconds_count{outcome="commit"}') ?? 0,
    );
    await expect.poll(async () => sample(await scrapeCoordinator(), 'kubeha_api_sse_clients')).toBe(0);

    const agentAfter = await scrapeAgent();
    for (const kind of ['preflight', 'host-prep', 'container-runtime', 'kube-packages', 'kubeadm-join']) {
      expect(sample(agentAfter, `kubeha_agent_step_duration_seconds_count{kind="${kind}",outcome="succeeded"}`)).toBe(
        1,
      );
    }
    await expect.poll(async () => sample(await scrapeAgent(), 'kubeha_agent_result_spool_depth')).toBe(0);
    expect(sample(agentAfter, 'kubeha_agent_session_reconnects_total')).toBe(0);

    // No labels that grow with the fleet or the runs: no node names, addresses, agent or run ids.
    for (const text of [after, agentAfter]) {
      expect(text).not.toContain(run.id);
      expect(text).not.toContain(enrolled.agentId);
      expect(text).not.toMatch(/10\.10\.\d+\.\d+/);
      expect(text).not.toMatch(/"(cp\d|w\d)"/);
    }

    // The scrape token reads /metrics and nothing else; no token reads nothing.
    const scrapeToken = { authorization: `Bearer ${sim.coordinator.metricsToken}` };
    expect((await fetch(`${sim.coordinator.apiUrl}/v1/clusters`, { headers: scrapeToken })).status).toBe(401);
    expect((await fetch(coordinatorUrl)).status).toBe(401);
    expect(
      (await fetch(coordinatorUrl, { headers: { authorization: `Bearer ${sim.coordinator.adminToken}` } })).status,
    ).toBe(200);
  });
});
