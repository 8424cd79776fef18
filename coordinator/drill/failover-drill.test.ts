import { describe, expect, it } from 'vitest';
import { type DrillAction, type DrillTiming, type FailoverDrillDeps, runFailoverDrill } from './failover-drill.ts';

const timing: DrillTiming = {
  probeIntervalMs: 100,
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
 * as `script` says (times relative to the apply); the restore makes everything healthy again after `recoverMs`.
 */
function simulatedCluster(script: {
  readyzDown?: [number, number];
  holders?: [number, string[]][];
  applyFails?: boolean;
  restoreFailures?: number;
  recoverMs?: number;
  probeThrowsAt?: number;
  before?: string[];
}) {
  let t = 1_000_000;
  let appliedAt: number | undefined;
  let restoredAt: number | undefined;
  let restoreFailures = script.restoreFailures ?? 0;
  const calls: Call[] = [];
  const since = () => (appliedAt === undefined ? -1 : t - appliedAt);
  const recovered = () => restoredAt !== undefined && t - restoredAt >= (script.recoverMs ?? 300);
  const deps: FailoverDrillDeps = {
    async runAction(node, { action, phase }) {
      calls.push({ node, action, phase, atMs: since() });
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
    async vipHolders() {
      if (appliedAt === undefined) return script.before ?? ['cp1'];
      if (recovered()) return ['cp1'];
      let current = ['cp1'];
      for (const [at, holders] of script.holders ?? []) if (since() >= at) current = holders;
      return current;
    },
    async probeReadyz() {
      if (script.probeThrowsAt !== undefined && since() >= script.probeThrowsAt && !recovered()) {
        throw new Error('ECONNRESET');
      }
      if (appliedAt === undefined || recovered()) return true;
      const [from, to] = script.readyzDown ?? [-1, -1];
      return !(since() >= from && since() < to);
    },
    now: () => t,
    async sleep(ms) {
      t += ms;
    },
  };
  return { deps, calls };
}

describe('runFailoverDrill', () => {
  it('GIVEN keepalived stopped on the holder WHEN drilled THEN the VIP moves to cp2, the outage is measured, then restored', async () => {
    const { deps, calls } = simulatedCluster({
      readyzDown: [0, 700],
      holders: [
        [0, ['cp1']],
        [400, []],
        [500, ['cp2']],
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
      readyzDowntimeMs: 700,
      longestOutageMs: 700,
      vipAbsentMs: 100,
      // cp2 serves at once after the restore; within the settle time cp1 preempts the VIP back.
      recoveredAfterRestoreMs: 0,
      restoreAttempts: 1,
    });
    expect(calls.map((c) => `${c.node} ${c.action} ${c.phase}`)).toEqual([
      'cp1 stop-keepalived apply',
      'cp1 stop-keepalived restore',
    ]);
  });

  it('GIVEN the action itself fails WHEN drilled THEN it is still restored on the same node and the report says why', async () => {
    const { deps, calls } = simulatedCluster({ applyFails: true });
    const report = await runFailoverDrill(deps, ['stop-haproxy'], timing);
    expect(report.ok).toBe(false);
    expect(report.actions[0]?.applyError).toBe('systemctl stop haproxy exited with 1');
    expect(report.actions[0]?.problems).toEqual(['stop-haproxy on cp1 failed: systemctl stop haproxy exited with 1']);
    expect(calls.map((c) => `${c.node} ${c.phase}`)).toEqual(['cp1 apply', 'cp1 restore']);
  });

  it('GIVEN probing blows up while watching WHEN drilled THEN the restore still runs', async () => {
    const { deps, calls } = simulatedCluster({ probeThrowsAt: 200, readyzDown: [0, 5000] });
    const original = deps.vipHolders;
    let n = 0;
    deps.vipHolders = async () => {
      n++;
      if (n === 4) throw new Error('store unavailable');
      return original();
    };
    const report = await runFailoverDrill(deps, ['stop-apiserver'], timing);
    expect(calls.map((c) => c.phase)).toEqual(['apply', 'restore']);
    expect(report.actions[0]?.problems).toEqual(['watching after stop-apiserver failed: store unavailable']);
    expect(report.ok).toBe(false);
  });

  it('GIVEN the VIP on two nodes at once WHEN drilled THEN split brain is reported and the drill fails', async () => {
    const { deps } = simulatedCluster({ holders: [[300, ['cp1', 'cp2']]] });
    const report = await runFailoverDrill(deps, ['stop-haproxy'], timing);
    expect(report.ok).toBe(false);
    expect(report.actions[0]?.maxSimultaneousHolders).toBe(2);
    expect(report.actions[0]?.problems[0]).toMatch(/^the VIP was on cp1 and cp2 at once \(300 ms after the action\)$/);
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
