/**
 * The coordinator side of the failover drill: find the VIP holder, break one thing there through its
 * agent (a failover-drill-action step), watch /readyz through the endpoint and where the VIP goes, check it is never
 * on two nodes, and always restore, also when the action or the watching fails. Every dependency is injected, so the
 * scheduler can wire it to its gateway and tests to fakes.
 */
export type DrillAction = 'stop-apiserver' | 'stop-haproxy' | 'stop-keepalived';

export interface FailoverDrillDeps {
  /** Runs a failover-drill-action step on the node's agent; rejects when the step fails. */
  runAction(node: string, params: { action: DrillAction; phase: 'apply' | 'restore' }): Promise<void>;
  /** The nodes whose latest heartbeat says they hold the VIP. */
  vipHolders(): Promise<string[]>;
  /** One GET of https://ENDPOINT/readyz: true when it answered 200. */
  probeReadyz(): Promise<boolean>;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface DrillTiming {
  /** Between two samples of /readyz and the VIP holders. */
  probeIntervalMs: number;
  /** How long to watch after the action before restoring. */
  observeMs: number;
  /** After the restore, how long to wait for /readyz and a single VIP holder. */
  recoverTimeoutMs: number;
  /** After recovering, how long to keep watching (a preempting holder takes the VIP back: a second, short outage). */
  settleMs: number;
  restoreAttempts: number;
}

export const defaultDrillTiming: DrillTiming = {
  probeIntervalMs: 200,
  observeMs: 20_000,
  recoverTimeoutMs: 60_000,
  settleMs: 10_000,
  restoreAttempts: 3,
};

export interface DrillSample {
  /** Milliseconds since the action was applied (negative before). */
  atMs: number;
  readyzOk: boolean;
  holders: string[];
}

export interface DrillActionReport {
  action: DrillAction;
  ok: boolean;
  problems: string[];
  /** The node the action ran on. */
  initialHolder?: string;
  /** The first other node that held the VIP alone after the action, if it moved. */
  vipMovedTo?: string;
  finalHolders: string[];
  /** The most nodes that claimed the VIP in one sample: more than 1 means split brain. */
  maxSimultaneousHolders: number;
  /** Total and longest time /readyz through the endpoint failed. */
  readyzDowntimeMs: number;
  longestOutageMs: number;
  /** Time without any VIP holder. */
  vipAbsentMs: number;
  /** From the restore until /readyz answered and one node held the VIP; undefined when it never did. */
  recoveredAfterRestoreMs?: number;
  applyError?: string;
  restoreError?: string;
  restoreAttempts: number;
  samples: DrillSample[];
}

export interface FailoverDrillReport {
  ok: boolean;
  actions: DrillActionReport[];
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Sums the spans where `failing(sample)` held, each from its first failing sample to the next good one. */
function spans(samples: DrillSample[], failing: (s: DrillSample) => boolean): { total: number; longest: number } {
  let total = 0;
  let longest = 0;
  let start: number | undefined;
  for (const s of samples) {
    if (failing(s) && start === undefined) start = s.atMs;
    if (!failing(s) && start !== undefined) {
      total += s.atMs - start;
      longest = Math.max(longest, s.atMs - start);
      start = undefined;
    }
  }
  const last = samples.at(-1);
  if (start !== undefined && last) {
    total += last.atMs - start;
    longest = Math.max(longest, last.atMs - start);
  }
  return { total, longest };
}

/** One action on the current VIP holder, restored whatever happens. */
export async function runFailoverDrillAction(
  deps: FailoverDrillDeps,
  action: DrillAction,
  timing: DrillTiming = defaultDrillTiming,
): Promise<DrillActionReport> {
  const samples: DrillSample[] = [];
  const problems: string[] = [];
  let appliedAt = deps.now();
  const sample = async (): Promise<DrillSample> => {
    const readyzOk = await deps.probeReadyz().catch(() => false);
    const holders = [...(await deps.vipHolders())].sort();
    const s = { atMs: deps.now() - appliedAt, readyzOk, holders };
    samples.push(s);
    return s;
  };
  const report = (extra: Partial<DrillActionReport>): DrillActionReport => {
    const downtime = spans(samples, (s) => !s.readyzOk);
    const maxSimultaneousHolders = Math.max(0, ...samples.map((s) => s.holders.length));
    if (maxSimultaneousHolders > 1) {
      const twice = samples.find((s) => s.holders.length > 1)!;
      problems.push(`the VIP was on ${twice.holders.join(' and ')} at once (${twice.atMs} ms after the action)`);
    }
    const initialHolder = extra.initialHolder;
    const movedTo = samples.find((s) => s.atMs >= 0 && s.holders.length === 1 && s.holders[0] !== initialHolder);
    return {
      action,
      ok: problems.length === 0,
      problems,
      finalHolders: samples.at(-1)?.holders ?? [],
      maxSimultaneousHolders,
      readyzDowntimeMs: downtime.total,
      longestOutageMs: downtime.longest,
      vipAbsentMs: spans(samples, (s) => s.holders.length === 0).total,
      restoreAttempts: 0,
      samples,
      ...(movedTo ? { vipMovedTo: movedTo.holders[0] } : {}),
      ...extra,
    };
  };

  let before: DrillSample;
  try {
    before = await sample();
  } catch (error) {
    problems.push(`could not read the VIP holders: ${messageOf(error)}`);
    return report({});
  }
  if (before.holders.length !== 1) {
    problems.push(
      `the VIP is on ${before.holders.length} nodes before the drill (${before.holders.join(', ') || 'none'}): not starting`,
    );
    return report({});
  }
  const holder = before.holders[0]!;
  let applyError: string | undefined;
  let restoreError: string | undefined;
  let restoreAttempts = 0;
  let restoredAt = 0;
  let applied = false;
  try {
    appliedAt = deps.now();
    await deps.runAction(holder, { action, phase: 'apply' });
    applied = true;
    while (deps.now() - appliedAt < timing.observeMs) {
      await sample();
      await deps.sleep(timing.probeIntervalMs);
    }
  } catch (error) {
    if (applied) problems.push(`watching after ${action} failed: ${messageOf(error)}`);
    else {
      applyError = messageOf(error);
      problems.push(`${action} on ${holder} failed: ${applyError}`);
    }
  } finally {
    // The restore must happen even when the action half-failed: it only undoes what the agent recorded.
    for (restoreAttempts = 1; restoreAttempts <= timing.restoreAttempts; restoreAttempts++) {
      try {
        await deps.runAction(holder, { action, phase: 'restore' });
        restoreError = undefined;
        break;
      } catch (error) {
        restoreError = messageOf(error);
        if (restoreAttempts < timing.restoreAttempts) await deps.sleep(timing.probeIntervalMs);
      }
    }
    restoreAttempts = Math.min(restoreAttempts, timing.restoreAttempts);
    restoredAt = deps.now() - appliedAt;
  }
  if (restoreError !== undefined) problems.push(`restoring ${action} on ${holder} failed: ${restoreError}`);

  let recoveredAfterRestoreMs: number | undefined;
  try {
    while (deps.now() - appliedAt - restoredAt <= timing.recoverTimeoutMs) {
      const s = await sample();
      if (s.readyzOk && s.holders.length === 1) {
        recoveredAfterRestoreMs = s.atMs - restoredAt;
        break;
      }
      await deps.sleep(timing.probeIntervalMs);
    }
    const settleFrom = deps.now();
    while (recoveredAfterRestoreMs !== undefined && deps.now() - settleFrom < timing.settleMs) {
      await deps.sleep(timing.probeIntervalMs);
      await sample();
    }
  } catch (error) {
    problems.push(`watching the recovery failed: ${messageOf(error)}`);
  }
  if (recoveredAfterRestoreMs === undefined) {
    problems.push(`the endpoint did not recover within ${timing.recoverTimeoutMs} ms of the restore`);
  }
  return report({
    initialHolder: holder,
    restoreAttempts,
    ...(applyError !== undefined ? { applyError } : {}),
    ...(restoreError !== undefined ? { restoreError } : {}),
    ...(recoveredAfterRestoreMs !== undefined ? { recoveredAfterRestoreMs } : {}),
  });
}

/** The actions one after the other, each from a recovered cluster; stops at the first not restored or not recovered. */
export async function runFailoverDrill(
  deps: FailoverDrillDeps,
  actions: readonly DrillAction[],
  timing: DrillTiming = defaultDrillTiming,
): Promise<FailoverDrillReport> {
  const reports: DrillActionReport[] = [];
  for (const action of actions) {
    const report = await runFailoverDrillAction(deps, action, timing);
    reports.push(report);
    if (report.restoreError !== undefined || report.recoveredAfterRestoreMs === undefined) break;
  }
  return { ok: reports.length === actions.length && reports.every((r) => r.ok), actions: reports };
}
