import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type DrillAction, type DrillTiming, type FailoverDrillDeps, runFailoverDrill } from './failover-drill.ts';

const timing: DrillTiming = {
  probeIntervalMs: 50,
  observeMs: 2000,
  recoverTimeoutMs: 3000,
  settleMs: 1000,
  restoreAttempts: 3,
};

interface Call {
  node: string;
  action: DrillAction;
  phase: 'apply' | 'restore';
  atMs: number;
}

/**
 * A simulated cluster on a fake clock: cp1 holds the VIP; an applied action makes /readyz fail and the VIP move
 * as `script` says (times relative to the apply); the restore makes everything healthy again after `recoverMs`,
 * with cp1 holding the VIP. The probes run on the same fake clock: each answers `probeLatencyMs` after its start
 * (a hung probe: longer than the interval), from the state at its start.
 */
function simulatedCluster(script: {
  readyzDown?: [number, number];
  holders?: [number, string[]][];
  applyFails?: boolean;
  restoreFailures?: number;
  recoverMs?: number;
  before?: string[];
  probeLatencyMs?: number;
  historyThrowsAfter?: number;
}) {
  let t = 1_000_000;
  const start = t;
  let appliedAt: number | undefined;
  let restoredAt: number | undefined;
  let restoreFailures = script.restoreFailures ?? 0;
  const calls: Call[] = [];
  const timers: { at: number; fn: () => void }[] = [];
  const since = (at: number) => (appliedAt === undefined ? -1 : at - appliedAt);
  const recoveredAt = () => (restoredAt === undefined ? undefined : restoredAt + (script.recoverMs ?? 300));
  let historyReads = 0;
  const probeStarts: number[] = [];

  const after = (ms: number, fn: () => void) => {
    const timer = { at: t + ms, fn };
    timers.push(timer);
    return () => {
      const i = timers.indexOf(timer);
      if (i >= 0) timers.splice(i, 1);
    };
  };
  const deps: FailoverDrillDeps = {
    async runAction(node, { action, phase }) {
      calls.push({ node, action, phase, atMs: since(t) });
      if (phase === 'apply') {
        appliedAt = t;
        if (script.applyFails) throw new Error('systemctl stop haproxy exited with 1');
        return;
      }
      if (restoreFailures > 0) {
        restoreFailures--;
        throw new Error('agent offline');
      }
      restoredAt = t;
    },
    vipHistory() {
      historyReads++;
      if (script.historyThrowsAfter !== undefined && historyReads > script.historyThrowsAfter) {
        throw new Error('store unavailable');
      }
      // Each node's changes up to now, on the coordinator's clock.
      const states: [number, string[]][] = [[start - 10_000, script.before ?? ['cp1']]];
      if (appliedAt !== undefined) {
        for (const [at, holders] of script.holders ?? []) states.push([appliedAt + at, holders]);
      }
      const back = recoveredAt();
      if (back !== undefined) states.push([back, ['cp1']]);
      const nodes = ['cp1', 'cp2', 'cp3'].map((node) => ({
        node,
        changes: states.filter(([at]) => at <= t).map(([atMs, holders]) => ({ atMs, held: holders.includes(node) })),
      }));
      return { nodes, clockSpreadMs: 3 };
    },
    probeReadyz() {
      const at = t;
      probeStarts.push(at);
      const back = recoveredAt();
      const [from, to] = script.readyzDown ?? [-1, -1];
      const ok =
        appliedAt === undefined || (back !== undefined && at >= back) || !(since(at) >= from && since(at) < to);
      return new Promise((resolve) => after(script.probeLatencyMs ?? 5, () => resolve(ok)));
    },
    now: () => t,
    async sleep(ms) {
      const until = t + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > until) break;
        timers.shift();
        t = next.at;
        next.fn();
        await turn();
      }
      t = until;
      await turn();
    },
  };
  deps.probeClock = { now: () => t, after };
  return { deps, calls, probeStarts };
}

describe('runFailoverDrill', () => {
  it('GIVEN keepalived stopped on the holder WHEN drilled THEN the outage is from the first failed probe to the first good one, and the holder timeline comes from the transitions', async () => {
    const { deps, calls } = simulatedCluster({
      readyzDown: [0, 700],
      holders: [
        [400, []],
        [520, ['cp2']],
      ],
    });
    const report = await runFailoverDrill(deps, ['stop-keepalived'], timing);
    expect(report.ok).toBe(true);
    const [r] = report.actions;
    expect(r).toMatchObject({
      action: 'stop-keepalived',
      ok: true,
      problems: [],
      initialHolder: 'cp1',
      vipMovedTo: 'cp2',
      finalHolders: ['cp1'],
      maxSimultaneousHolders: 1,
      // Probes start every 50 ms: one just before the apply (good), the first failing one 50 ms after it, the first
      // good one at 700 ms.
      readyzDowntimeMs: 650,
      longestOutageMs: 650,
      // 400 -> 520 ms: 120 ms, reported to 0.05 s.
      vipAbsentMs: 100,
      vipTwoHoldersMs: 0,
      clockSpreadMs: 3,
      resolutionMs: 50,
      probeIntervalMs: 50,
      restoreAttempts: 1,
    });
    expect(r!.outages).toEqual([{ fromMs: 50, toMs: 700 }]);
    expect(r!.failedProbes).toBe(13);
    expect(r!.holderTimeline.map((h) => h.holders)).toEqual([['cp1'], [], ['cp2'], ['cp1']]);
    expect(r!.holderTimeline.slice(0, 3).map((h) => h.atMs)).toEqual([0, 400, 520]);
    expect(calls.map((c) => `${c.node} ${c.action} ${c.phase}`)).toEqual([
      'cp1 stop-keepalived apply',
      'cp1 stop-keepalived restore',
    ]);
  });

  it('GIVEN probes that hang longer than the interval WHEN drilled THEN the next probes still start on schedule', async () => {
    const { deps, probeStarts } = simulatedCluster({ readyzDown: [0, 300], probeLatencyMs: 400 });
    const report = await runFailoverDrill(deps, ['stop-apiserver'], timing);
    const gaps = probeStarts.slice(1).map((at, i) => at - probeStarts[i]!);
    expect(new Set(gaps)).toEqual(new Set([50]));
    expect(report.actions[0]).toMatchObject({ longestOutageMs: 250, readyzDowntimeMs: 250 });
    expect(report.actions[0]!.outages).toEqual([{ fromMs: 50, toMs: 300 }]);
  });

  it('GIVEN the action itself fails WHEN drilled THEN it is still restored on the same node and the report says why', async () => {
    const { deps, calls } = simulatedCluster({ applyFails: true });
    const report = await runFailoverDrill(deps, ['stop-haproxy'], timing);
    expect(report.ok).toBe(false);
    expect(report.actions[0]?.applyError).toBe('systemctl stop haproxy exited with 1');
    expect(report.actions[0]?.problems).toEqual(['stop-haproxy on cp1 failed: systemctl stop haproxy exited with 1']);
    expect(calls.map((c) => `${c.node} ${c.phase}`)).toEqual(['cp1 apply', 'cp1 restore']);
  });

  it('GIVEN the holders cannot be read while recovering WHEN drilled THEN the restore still ran and the drill fails saying why', async () => {
    const { deps, calls } = simulatedCluster({ readyzDown: [0, 5000], historyThrowsAfter: 1 });
    const report = await runFailoverDrill(deps, ['stop-apiserver'], timing);
    expect(calls.map((c) => c.phase)).toEqual(['apply', 'restore']);
    expect(report.actions[0]?.problems).toContain('watching the recovery failed: store unavailable');
    expect(report.ok).toBe(false);
  });

  it('GIVEN the VIP on two nodes at once WHEN drilled THEN split brain is reported and the drill fails', async () => {
    const { deps } = simulatedCluster({ holders: [[300, ['cp1', 'cp2']]] });
    const report = await runFailoverDrill(deps, ['stop-haproxy'], timing);
    expect(report.ok).toBe(false);
    expect(report.actions[0]?.maxSimultaneousHolders).toBe(2);
    expect(report.actions[0]?.problems[0]).toMatch(
      /^the VIP was on cp1 and cp2 at once \(300 ms after the action, \d+ ms in all\)$/,
    );
  });

  it('GIVEN two holders for less than the clocks can tell apart WHEN drilled THEN the timeline shows it but it is not counted as a split brain', async () => {
    const { deps } = simulatedCluster({
      holders: [
        [300, ['cp1', 'cp2']],
        [320, ['cp2']],
      ],
    });
    const report = await runFailoverDrill(deps, ['stop-haproxy'], timing);
    expect(report.actions[0]).toMatchObject({ ok: true, maxSimultaneousHolders: 1, vipTwoHoldersMs: 0 });
    expect(report.actions[0]!.holderTimeline.slice(0, 3)).toEqual([
      { atMs: 0, holders: ['cp1'] },
      { atMs: 300, holders: ['cp1', 'cp2'] },
      { atMs: 320, holders: ['cp2'] },
    ]);
  });

  it('GIVEN a restore that fails twice WHEN drilled THEN it is retried until it works', async () => {
    const { deps, calls } = simulatedCluster({ restoreFailures: 2, readyzDown: [0, 200] });
    const report = await runFailoverDrill(deps, ['stop-apiserver'], timing);
    expect(report.ok).toBe(true);
    expect(report.actions[0]?.restoreAttempts).toBe(3);
    expect(calls.filter((c) => c.phase === 'restore')).toHaveLength(3);
  });

  it('GIVEN a restore that never works WHEN drilled THEN the drill fails and stops before the next action', async () => {
    const { deps, calls } = simulatedCluster({ restoreFailures: 99 });
    const report = await runFailoverDrill(deps, ['stop-haproxy', 'stop-keepalived'], timing);
    expect(report.ok).toBe(false);
    expect(report.actions).toHaveLength(1);
    expect(report.actions[0]?.problems).toContain('restoring stop-haproxy on cp1 failed: agent offline');
    expect(calls.filter((c) => c.action === 'stop-keepalived')).toEqual([]);
  });

  it('GIVEN the VIP on no node or two nodes before the drill WHEN drilled THEN nothing is touched', async () => {
    for (const before of [[], ['cp1', 'cp2']]) {
      const { deps, calls } = simulatedCluster({ before });
      const report = await runFailoverDrill(deps, ['stop-haproxy'], timing);
      expect(report.ok).toBe(false);
      expect(report.actions[0]?.problems[0]).toMatch(/before the drill/);
      expect(calls).toEqual([]);
    }
  });

  it('GIVEN several actions WHEN drilled THEN each runs on the holder of its time and is restored before the next', async () => {
    const { deps, calls } = simulatedCluster({ readyzDown: [0, 100] });
    const report = await runFailoverDrill(deps, ['stop-apiserver', 'stop-haproxy', 'stop-keepalived'], timing);
    expect(report.ok).toBe(true);
    expect(calls.map((c) => `${c.action} ${c.phase}`)).toEqual([
      'stop-apiserver apply',
      'stop-apiserver restore',
      'stop-haproxy apply',
      'stop-haproxy restore',
      'stop-keepalived apply',
      'stop-keepalived restore',
    ]);
  });
});
