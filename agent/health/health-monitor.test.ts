import { describe, expect, it } from 'vitest';
import { initializedPhase } from './cluster-phase.fixture.ts';
import type { ClusterPhase } from './cluster-phase.ts';
import { HealthMonitor } from './health-monitor.ts';
import type { TierProbeResult } from './tier-probe.ts';
import type { VrrpVerdict } from './vrrp-verdict.ts';

const phase = initializedPhase({ clusterCaPem: 'CA' });

function scripted(results: boolean[]) {
  const calls: { url: string; ca: string }[] = [];
  const probe = async (url: string, ca: string): Promise<TierProbeResult> => {
    calls.push({ url, ca });
    const ok = results.shift();
    if (ok === undefined) throw new Error('more probes than scripted');
    return { ok, detail: ok ? 'HTTP 200' : 'HTTP 503' };
  };
  return { probe, calls };
}

describe('HealthMonitor', () => {
  it('GIVEN the VIP moves onto and off this node THEN each move is reported once, at the next probe interval', async () => {
    let addresses = ['10.0.0.11'];
    let clock = 0;
    const moves: boolean[] = [];
    const monitor = new HealthMonitor({
      probeIntervalMs: 100,
      initialPhase: phase,
      probe: async () => ({ ok: true, detail: 'HTTP 200' }),
      localAddresses: () => addresses,
      now: () => clock,
    });
    monitor.onVipHeldChange((held) => moves.push(held));
    monitor.start();
    try {
      const waitTicks = async () => {
        clock += 1000;
        await new Promise((r) => setTimeout(r, 250));
      };
      await waitTicks();
      addresses = ['10.0.0.11', '10.0.0.6'];
      await waitTicks();
      await waitTicks();
      addresses = ['10.0.0.11'];
      await waitTicks();
    } finally {
      await monitor.stop();
    }
    expect(moves).toEqual([true, false]);
  });

  it('needs two failed probes to turn unhealthy and two good ones to recover, and reports each change once', async () => {
    const { probe, calls } = scripted([true, false, true, false, false, true, true]);
    const changes: VrrpVerdict[] = [];
    const monitor = new HealthMonitor({
      probeIntervalMs: 500,
      initialPhase: phase,
      haproxyAttempts: 1,
      probe,
      onVerdictChange: (v) => changes.push(v),
    });
    const healthyAfterEach: boolean[] = [];
    for (let i = 0; i < 7; i++) {
      await monitor.probeNow();
      healthyAfterEach.push(monitor.verdict().healthy);
    }
    expect(healthyAfterEach).toEqual([true, true, true, true, false, false, true]);
    expect(changes.map((c) => c.healthy)).toEqual([true, false, true]);
    expect(calls[0]).toEqual({ url: 'https://127.0.0.1:16443/readyz', ca: 'CA' });
  });

  it('retries through HAProxy so that one unready apiserver behind it does not fail the probe', async () => {
    const { probe, calls } = scripted([false, true, false, false, false]);
    const monitor = new HealthMonitor({ probeIntervalMs: 500, initialPhase: phase, probe });
    await monitor.probeNow();
    expect(calls).toHaveLength(2);
    expect(monitor.verdict().healthy).toBe(true);
    await monitor.probeNow();
    expect(calls).toHaveLength(5);
  });

  it('does not retry a refused connection (HAProxy is down)', async () => {
    const calls: string[] = [];
    const monitor = new HealthMonitor({
      probeIntervalMs: 500,
      initialPhase: phase,
      probe: async (url) => {
        calls.push(url);
        return { ok: false, detail: 'connect ECONNREFUSED 127.0.0.1:16443' };
      },
    });
    await monitor.probeNow();
    expect(calls).toHaveLength(1);
    expect(monitor.verdict().healthy).toBe(false);
  });

  it('probes the local apiserver in mode keepalived', async () => {
    const { probe, calls } = scripted([true]);
    const monitor = new HealthMonitor({
      probeIntervalMs: 500,
      initialPhase: { ...phase, endpointMode: 'keepalived' },
      probe,
    });
    await monitor.probeNow();
    expect(calls[0]?.url).toBe('https://127.0.0.1:6443/readyz');
  });

  it('follows the phase from bootstrap to initialized and saves each new phase', async () => {
    const { probe } = scripted([false, false, false, false, false, false]);
    const saved: ClusterPhase[] = [];
    const changes: boolean[] = [];
    const monitor = new HealthMonitor({
      probeIntervalMs: 500,
      probe,
      onPhaseChange: (p) => saved.push(p),
      onVerdictChange: (v) => changes.push(v.healthy),
    });
    expect(monitor.verdict().reason).toContain('has not told this agent the cluster phase');
    monitor.setPhase({ ...phase, initialized: false, initNode: true });
    expect(monitor.verdict()).toMatchObject({ healthy: true, reason: expect.stringContaining('bootstrap') });
    monitor.setPhase({ ...phase, initialized: false, initNode: true });
    monitor.setPhase(phase);
    // The bootstrap verdict carries over: fall (2) failed probes of the initialised cluster turn it.
    await monitor.probeNow();
    expect(monitor.verdict().healthy).toBe(true);
    await monitor.probeNow();
    expect(monitor.verdict()).toMatchObject({ healthy: false, reason: 'local HAProxy not ready: HTTP 503' });
    expect(saved.map((p) => p.initialized)).toEqual([false, true]);
    expect(changes).toEqual([true, false]);
  });

  it('turns stale only after the longest a probe may take (every attempt timing out) plus two intervals', async () => {
    let clock = 10_000;
    const { probe } = scripted([true]);
    // HAProxy mode: 3 attempts x 1000 ms + 2 x 250 ms = 3500 ms.
    const monitor = new HealthMonitor({ probeIntervalMs: 250, initialPhase: phase, probe, now: () => clock });
    await monitor.probeNow();
    clock += 3_500;
    expect(monitor.verdict().healthy).toBe(true);
    clock += 100;
    expect(monitor.verdict()).toMatchObject({ healthy: false, probeAgeMs: 3_600 });
    monitor.setPhase({ ...phase, endpointMode: 'keepalived' });
    expect(monitor.staleAfterMs()).toBe(1_500);
  });

  it('GIVEN a healthy tier fails one probe THEN it probes again after confirmAfterMs, not a whole interval later', async () => {
    const { probe, calls } = scripted([true, false, false]);
    const changes: boolean[] = [];
    const monitor = new HealthMonitor({
      probeIntervalMs: 60_000,
      confirmAfterMs: 20,
      initialPhase: phase,
      haproxyAttempts: 1,
      probe,
      onVerdictChange: (v) => changes.push(v.healthy),
    });
    monitor.start();
    try {
      await expect.poll(() => calls.length, { timeout: 2_000, interval: 10 }).toBe(1);
      await monitor.probeNow();
      // The second failure comes from the confirmation probe: the next tick is a minute away.
      await expect.poll(() => changes, { timeout: 2_000, interval: 10 }).toEqual([true, false]);
      expect(calls).toHaveLength(3);
    } finally {
      await monitor.stop();
    }
  });

  it('holds the VIP only when the VIP is one of the local addresses', () => {
    let addresses = ['127.0.0.1', '10.0.0.11'];
    let clock = 0;
    const monitor = new HealthMonitor({
      probeIntervalMs: 500,
      initialPhase: phase,
      localAddresses: () => addresses,
      now: () => clock,
    });
    expect(monitor.holdsVip()).toBe(false);
    addresses = [...addresses, '10.0.0.6'];
    clock += 250;
    expect(monitor.holdsVip()).toBe(true);
    expect(new HealthMonitor({ probeIntervalMs: 500, localAddresses: () => addresses }).holdsVip()).toBe(false);
  });

  it('GIVEN the init node held the VIP through bootstrap while its probe failed WHEN kubeadm init has finished THEN its verdict stays healthy until two probes of the running cluster fail', async () => {
    // While the apiserver starts, the probe through HAProxy fails; the bootstrap verdict holds the VIP regardless.
    const { probe } = scripted([false, false, false, true, false, false]);
    const changes: boolean[] = [];
    let clock = 1_000_000;
    const bootstrap: ClusterPhase = { ...phase, initialized: false, initNode: true, clusterCaPem: '' };
    const monitor = new HealthMonitor({
      probeIntervalMs: 500,
      initialPhase: bootstrap,
      haproxyAttempts: 1,
      probe,
      now: () => clock,
      onVerdictChange: (v) => changes.push(v.healthy),
    });
    monitor.setPhase(bootstrap);
    for (let i = 0; i < 3; i++) await monitor.probeNow();
    expect(monitor.verdict()).toMatchObject({ healthy: true, reason: expect.stringMatching(/^bootstrap/) });

    // WHEN the coordinator says the cluster is initialised
    clock += 100;
    monitor.setPhase({ ...bootstrap, initialized: true, clusterCaPem: 'CA' });
    // THEN the bootstrap failures do not turn the verdict: keepalived is not told FAULT
    expect(monitor.verdict()).toMatchObject({
      healthy: true,
      reason: expect.stringContaining('carried over from bootstrap'),
    });
    await monitor.probeNow();
    expect(monitor.verdict()).toMatchObject({ healthy: true, reason: 'local HAProxy ready: HTTP 200' });
    // AND the running cluster's own failures still count: fall (2) in a row turn it
    await monitor.probeNow();
    expect(monitor.verdict().healthy).toBe(true);
    await monitor.probeNow();
    expect(monitor.verdict().healthy).toBe(false);
    expect(changes).toEqual([true, false]);
  });

  it('GIVEN a joining node that may not hold the VIP during bootstrap WHEN the cluster is initialised THEN it needs two good probes before it may', async () => {
    const { probe } = scripted([true, true]);
    const bootstrap: ClusterPhase = { ...phase, initialized: false, initNode: false, clusterCaPem: '' };
    const monitor = new HealthMonitor({ probeIntervalMs: 500, initialPhase: bootstrap, haproxyAttempts: 1, probe });
    monitor.setPhase({ ...bootstrap, initialized: true, clusterCaPem: 'CA' });
    expect(monitor.verdict().healthy).toBe(false);
    await monitor.probeNow();
    expect(monitor.verdict().healthy).toBe(false);
    await monitor.probeNow();
    expect(monitor.verdict().healthy).toBe(true);
  });
});
