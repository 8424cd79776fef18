import { describe, expect, it } from 'vitest';
import { initializedPhase } from '../health/cluster-phase.fixture.ts';
import { HealthMonitor } from '../health/health-monitor.ts';
import { startHealthServer } from '../health/health-server.ts';
import { AgentMetrics } from './agent-metrics.ts';
import { HeldObservations } from './held-observations.ts';

/** The value of one sample line ("name{labels} value") of a scrape. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

/** Each named sample of a scrape has exactly its value. */
function expectSamples(text: string, expected: Record<string, number>): void {
  for (const [line, value] of Object.entries(expected)) expect(sample(text, line), line).toBe(value);
}

describe('HeldObservations', () => {
  it('GIVEN observations held before the registry WHEN replayed THEN every bucket, the count and the sum are as observed', () => {
    const held = new HeldObservations([0.1, 1, 10]);
    const values = [0.05, 0.07, 0.5, 0.9, 0.95, 5, 50];
    for (const v of values) held.observe({ kind: 'a' }, v);
    const replayed: number[] = [];
    held.replay((_labels, v) => replayed.push(v));
    expect(replayed).toHaveLength(values.length);
    const inBucket = (list: number[], lo: number, hi: number) => list.filter((v) => v > lo && v <= hi).length;
    for (const [lo, hi] of [
      [0, 0.1],
      [0.1, 1],
      [1, 10],
      [10, Number.POSITIVE_INFINITY],
    ] as const) {
      expect(inBucket(replayed, lo, hi)).toBe(inBucket(values, lo, hi));
    }
    expect(replayed.reduce((a, b) => a + b, 0)).toBeCloseTo(
      values.reduce((a, b) => a + b, 0),
      10,
    );
    held.replay(() => expect.unreachable('replayed twice'));
  });
});

describe('AgentMetrics on the health listener', () => {
  it('GIVEN a running health server WHEN /metrics is scraped as probes, steps and reconnects happen THEN the values move and /healthz/vrrp answers as before', async () => {
    let tierOk = true;
    let local = ['10.0.0.1'];
    const metrics = new AgentMetrics('9.9.9-test');
    const monitor = new HealthMonitor({
      probeIntervalMs: 100,
      initialPhase: initializedPhase({ endpointMode: 'keepalived' }),
      probe: async () => {
        metrics.probeFinished(tierOk, 0.003);
        return { ok: tierOk, detail: tierOk ? 'HTTP 200' : 'HTTP 500' };
      },
      fall: 1,
      rise: 1,
      localAddresses: () => local,
    });
    metrics.attach({ verdict: () => monitor.verdict(), holdsVip: () => monitor.holdsVip() });
    let spool = 0;
    metrics.attach({ spoolDepth: () => spool, sessionConnected: () => true });
    // Observed before prom-client is loaded: held, then replayed at the first scrape.
    metrics.stepFinished('host-prep', 'succeeded', 2.5);
    metrics.sessionEstablished();
    metrics.sessionEstablished();
    monitor.start();
    const health = await startHealthServer(
      monitor,
      { version: 't', coordinatorConnected: () => true },
      '127.0.0.1:0',
      metrics,
    );
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${health.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };
    try {
      await expect.poll(() => monitor.verdict().healthy, { timeout: 5_000 }).toBe(true);
      const first = await scrape();
      expectSamples(first, {
        'kubeha_agent_info{version="9.9.9-test"}': 1,
        'kubeha_agent_health_verdict{verdict="healthy"}': 1,
        'kubeha_agent_health_verdict{verdict="unhealthy"}': 0,
        kubeha_agent_vip_held: 0,
        kubeha_agent_result_spool_depth: 0,
        kubeha_agent_session_connected: 1,
        kubeha_agent_session_reconnects_total: 1,
        'kubeha_agent_step_duration_seconds_count{kind="host-prep",outcome="succeeded"}': 1,
        'kubeha_agent_step_duration_seconds_sum{kind="host-prep",outcome="succeeded"}': 2.5,
        'kubeha_agent_step_duration_seconds_bucket{le="1",kind="host-prep",outcome="succeeded"}': 0,
        'kubeha_agent_step_duration_seconds_bucket{le="5",kind="host-prep",outcome="succeeded"}': 1,
      });
      const probesBefore = sample(first, 'kubeha_agent_health_probe_duration_seconds_count{result="ok"}') ?? 0;
      expect(probesBefore).toBeGreaterThan(0);

      // The tier fails, the node takes the VIP, a result waits in the spool, another step ends, another reconnect.
      tierOk = false;
      local = ['10.0.0.1', '10.0.0.6'];
      spool = 2;
      metrics.stepFinished('host-prep', 'failed', 0.2);
      metrics.sessionEstablished();
      await expect.poll(() => monitor.verdict().healthy, { timeout: 5_000 }).toBe(false);
      await new Promise((r) => setTimeout(r, 300));
      const second = await scrape();
      expectSamples(second, {
        'kubeha_agent_health_verdict{verdict="unhealthy"}': 1,
        'kubeha_agent_health_verdict{verdict="healthy"}': 0,
        kubeha_agent_vip_held: 1,
        kubeha_agent_result_spool_depth: 2,
        kubeha_agent_session_reconnects_total: 2,
        'kubeha_agent_step_duration_seconds_count{kind="host-prep",outcome="failed"}': 1,
      });
      expect(sample(second, 'kubeha_agent_health_probe_duration_seconds_count{result="failed"}')).toBeGreaterThan(0);
      expect(sample(second, 'kubeha_agent_health_probe_duration_seconds_count{result="ok"}')).toBeGreaterThanOrEqual(
        probesBefore,
      );

      const vrrp = await fetch(`http://127.0.0.1:${health.port}/healthz/vrrp`);
      expect(vrrp.status).toBe(503);
      expect(await vrrp.json()).toMatchObject({ healthy: false, holdsVip: true });
    } finally {
      await monitor.stop();
      await health.close();
    }
  });

  it('GIVEN a health server without metrics THEN /metrics is a 404 like any unknown path', async () => {
    const monitor = new HealthMonitor({ probeIntervalMs: 1_000 });
    const health = await startHealthServer(monitor, { version: 't', coordinatorConnected: () => false }, '127.0.0.1:0');
    try {
      expect((await fetch(`http://127.0.0.1:${health.port}/metrics`)).status).toBe(404);
    } finally {
      await health.close();
    }
  });
});
