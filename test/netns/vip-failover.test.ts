import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunNetnsLab } from './netns-sandbox.ts';
import { HolderSampler, type LabMode, oursSettings, VrrpLab } from './vrrp-lab.ts';

// Three namespaces on a bridge, each with real keepalived (our rendered config), a stand-in apiserver, HAProxy in
// mode A and the agent's real health endpoint. The VIP is sampled every 100 ms for the whole life of each lab.

/** Generous upper bounds for waiting (not timings under test: the benchmark measures those). */
const settleMs = 25_000;
const moveMs = 15_000;

function labFor(mode: LabMode, tag: string): VrrpLab {
  // Bootstrap: kubeadm init has not run yet, n1 is the init node.
  return new VrrpLab({ mode, settings: oursSettings, tag, phase: { initialized: false } });
}

/** Every sample has at most one holder, and samples without a holder fall only inside the given failover windows. */
function expectOneHolderOutsideFailovers(sampler: HolderSampler, windows: { from: number; to: number }[]): void {
  expect(sampler.splitBrain()).toEqual([]);
  const first = sampler.samples.findIndex((s) => s.holders.length === 1);
  const orphans = sampler.samples
    .slice(first)
    .filter((s) => s.holders.length === 0 && !windows.some((w) => s.t >= w.from && s.t <= w.to));
  expect(orphans).toEqual([]);
}

describe('VIP failover in network namespaces', () => {
  beforeAll(async () => {
    const can = await canRunNetnsLab();
    if (!can.ok) throw new Error(`the netns integration test needs root and the tools: ${can.reason}`);
  });

  describe('mode haproxy-keepalived', () => {
    const lab = labFor('haproxy-keepalived', 'a');
    const sampler = new HolderSampler(lab, 100);
    const failovers: { from: number; to: number }[] = [];

    beforeAll(async () => {
      await lab.start();
      sampler.start();
    });
    afterAll(async () => {
      await sampler.stop();
      await lab.close();
    });

    it('GIVEN bootstrap THEN the init node holds the VIP and the others answer 503', async () => {
      await sampler.waitFor('the init node to hold the VIP', (h) => h.length === 1 && h[0] === 'n1', settleMs);
      const [n1, n2, n3] = lab.nodes;
      expect((await lab.vrrpHealth(n1!)).status).toBe(200);
      for (const node of [n2!, n3!]) {
        const answer = await lab.vrrpHealth(node);
        expect(answer.status).toBe(503);
        expect(JSON.parse(answer.body)).toMatchObject({ healthy: false, phase: 'bootstrap' });
      }
      lab.setPhase({ initialized: true });
      for (const node of lab.nodes) {
        await expect
          .poll(async () => (await lab.vrrpHealth(node)).status, { timeout: 10_000, interval: 200 })
          .toBe(200);
      }
      expect(await lab.holders()).toEqual(['n1']);
    });

    it("GIVEN the holder's HAProxy is killed THEN the VIP moves to a healthy node, never to two", async () => {
      const holder = lab.node('n1');
      const from = Date.now();
      await lab.killTier(holder);
      const movedAt = await sampler.waitFor('the VIP to leave n1', (h) => h.length === 1 && h[0] !== 'n1', moveMs);
      failovers.push({ from, to: movedAt });
      expect(['n2', 'n3']).toContain((await lab.holders())[0]);
      const verdict = JSON.parse((await lab.vrrpHealth(holder)).body);
      expect(verdict).toMatchObject({ healthy: false, reason: expect.stringContaining('local HAProxy not ready') });
    });

    it('GIVEN the agent on the holder stops THEN the VIP stays (the check script probes HAProxy itself)', async () => {
      const holder = lab.node((await lab.holders())[0]!);
      await lab.stopAgent(holder);
      const from = sampler.samples.length;
      // Longer than fall x interval of the check (2 x 1 s) plus its 3 s timeout: a failing check would have shown.
      await new Promise((r) => setTimeout(r, 6_000));
      const during = sampler.samples.slice(from);
      expect(during.length).toBeGreaterThan(20);
      expect(during.filter((s) => s.holders.length !== 1 || s.holders[0] !== holder.name)).toEqual([]);
      lab.startAgent(holder);
      await expect
        .poll(async () => (await lab.vrrpHealth(holder)).status, { timeout: 10_000, interval: 200 })
        .toBe(200);
      expect(await lab.holders()).toEqual([holder.name]);
    });

    it('GIVEN the failed node comes back THEN there is never more than one holder', async () => {
      const holder = (await lab.holders())[0];
      const n1 = lab.node('n1');
      const from = sampler.samples.length;
      lab.restoreTier(n1);
      await expect.poll(async () => (await lab.vrrpHealth(n1)).status, { timeout: 10_000, interval: 200 }).toBe(200);
      // rise 2 x interval 1 s takes keepalived on n1 out of FAULT; watch well past that.
      await new Promise((r) => setTimeout(r, 5_000));
      const during = sampler.samples.slice(from);
      expect(during.filter((s) => s.holders.length !== 1)).toEqual([]);
      expect(await lab.holders()).toEqual([holder]);
      expectOneHolderOutsideFailovers(sampler, failovers);
    });
  });

  describe('mode keepalived', () => {
    const lab = labFor('keepalived', 'b');
    const sampler = new HolderSampler(lab, 100);
    const failovers: { from: number; to: number }[] = [];

    beforeAll(async () => {
      await lab.start();
      sampler.start();
      lab.setPhase({ initialized: true });
    });
    afterAll(async () => {
      await sampler.stop();
      await lab.close();
    });

    it("GIVEN the holder's apiserver is killed THEN the VIP moves; WHEN it comes back THEN one holder only", async () => {
      const first = await sampler.waitFor('a holder', (h) => h.length === 1, settleMs);
      expect(first).toBeGreaterThan(0);
      const holder = lab.node((await lab.holders())[0]!);
      const from = Date.now();
      await lab.killTier(holder);
      const movedAt = await sampler.waitFor(
        `the VIP to leave ${holder.name}`,
        (h) => h.length === 1 && h[0] !== holder.name,
        moveMs,
      );
      failovers.push({ from, to: movedAt });
      const newHolder = (await lab.holders())[0];
      expect(JSON.parse((await lab.vrrpHealth(holder)).body).reason).toContain('local apiserver not ready');

      const since = sampler.samples.length;
      lab.restoreTier(holder);
      await expect
        .poll(async () => (await lab.vrrpHealth(holder)).status, { timeout: 10_000, interval: 200 })
        .toBe(200);
      await new Promise((r) => setTimeout(r, 4_000));
      expect(sampler.samples.slice(since).filter((s) => s.holders.length !== 1)).toEqual([]);
      expect(await lab.holders()).toEqual([newHolder]);
      expectOneHolderOutsideFailovers(sampler, failovers);
    });
  });
});
