import {
  type HolderSpan,
  holderTimeline,
  type NodeVipChanges,
  type Outage,
  outagesOf,
  reportResolutionMs,
  timeWithHolders,
  toResolution,
} from './drill-figures.ts';
import { type ProbeClock, realProbeClock, startProbeSchedule } from './probe-schedule.ts';

/**
 * The coordinator side of the failover drill: find the VIP holder, break one thing there through its
 * agent (a failover-drill-action step), probe /readyz through the endpoint on a fixed schedule and follow the VIP
 * through the transitions the agents report, check it is never on two nodes, and always restore, also when the
 * action or the watching fails. Every dependency is injected, so the scheduler can wire it to its gateway and tests
 * to fakes.
 */
export type DrillAction = 'stop-apiserver' | 'stop-haproxy' | 'stop-keepalived';

/** The candidates' VIP changes on the coordinator's clock, as their agents reported them (self-reported). */
export interface VipHistory {
  nodes: NodeVipChanges[];
  /** How far apart the agents' clocks are, as far as their messages tell (0 when one clock serves all). */
  clockSpreadMs: number;
}

export interface FailoverDrillDeps {
  /** Runs a failover-drill-action step on the node's agent; rejects when the step fails. */
  runAction(node: string, params: { action: DrillAction; phase: 'apply' | 'restore' }): Promise<void>;
  vipHistory(): VipHistory;
  /** One GET of https://ENDPOINT/readyz, bounded by its own timeout: true when it answered 200. */
  probeReadyz(): Promise<boolean>;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** The probes' schedule; the real timers when absent. */
  probeClock?: ProbeClock;
}

export interface DrillTiming {
  /** Between the starts of two probes of /readyz (each runs on its own, so a hung one never delays the next). */
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
  probeIntervalMs: 50,
  observeMs: 20_000,
  recoverTimeoutMs: 60_000,
  settleMs: 10_000,
  restoreAttempts: 3,
};

export interface DrillActionReport {
  action: DrillAction;
  ok: boolean;
  problems: string[];
  /** The node the action ran on. */
  initialHolder?: string;
  /** The first other node that held the VIP alone after the action, if it moved. */
  vipMovedTo?: string;
  finalHolders: string[];
  /**
   * The most nodes that said they held the VIP at the same moment for longer than the clocks can tell apart (their
   * spread plus the resolution): more than 1 means split brain.
   */
  maxSimultaneousHolders: number;
  /** When the action was applied and when the watching ended (ms since the epoch, coordinator clock). */
  appliedAtMs: number;
  endedAtMs: number;
  /** Total and longest time /readyz through the endpoint failed, to `resolutionMs`. */
  readyzDowntimeMs: number;
  longestOutageMs: number;
  /** Each outage, in ms since the apply. */
  outages: Outage[];
  /** Time with no VIP holder, and with two or more, to `resolutionMs`. */
  vipAbsentMs: number;
  vipTwoHoldersMs: number;
  /** Who held the VIP, in ms since the apply (a holder set per entry; [] while nobody had it). */
  holderTimeline: HolderSpan[];
  /** How far apart the agents' clocks are, as far as their messages tell; the holder times are this uncertain. */
  clockSpreadMs: number;
  probeIntervalMs: number;
  resolutionMs: number;
  probes: number;
  failedProbes: number;
  /** From the restore until /readyz answered and one node held the VIP; undefined when it never did. */
  recoveredAfterRestoreMs?: number;
  applyError?: string;
  restoreError?: string;
  restoreAttempts: number;
}

export interface FailoverDrillReport {
  ok: boolean;
  actions: DrillActionReport[];
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const holdersAt = (history: VipHistory, atMs: number) => holderTimeline(history.nodes, atMs, atMs)[0]!.holders;

/** One action on the current VIP holder, restored whatever happens. */
export async function runFailoverDrillAction(
  deps: FailoverDrillDeps,
  action: DrillAction,
  timing: DrillTiming = defaultDrillTiming,
): Promise<DrillActionReport> {
  const problems: string[] = [];
  let appliedAt = deps.now();
  const empty = (): DrillActionReport => ({
    action,
    ok: false,
    problems,
    finalHolders: [],
    maxSimultaneousHolders: 0,
    appliedAtMs: appliedAt,
    endedAtMs: deps.now(),
    readyzDowntimeMs: 0,
    longestOutageMs: 0,
    outages: [],
    vipAbsentMs: 0,
    vipTwoHoldersMs: 0,
    holderTimeline: [],
    clockSpreadMs: 0,
    probeIntervalMs: timing.probeIntervalMs,
    resolutionMs: reportResolutionMs,
    probes: 0,
    failedProbes: 0,
    restoreAttempts: 0,
  });

  let before: string[];
  try {
    before = holdersAt(deps.vipHistory(), deps.now());
  } catch (error) {
    problems.push(`could not read the VIP holders: ${messageOf(error)}`);
    return empty();
  }
  if (before.length !== 1) {
    problems.push(
      `the VIP is on ${before.length} nodes before the drill (${before.join(', ') || 'none'}): not starting`,
    );
    return empty();
  }
  const holder = before[0]!;
  const probes = startProbeSchedule(deps.probeReadyz, timing.probeIntervalMs, deps.probeClock ?? realProbeClock);
  /** The newest probe that has finished answered, and one node holds the VIP. */
  const recovered = () => {
    const newest = probes.results.reduce<{ startedAtMs: number; ok: boolean } | undefined>(
      (a, b) => (a === undefined || b.startedAtMs > a.startedAtMs ? b : a),
      undefined,
    );
    return newest?.ok === true && holdersAt(deps.vipHistory(), deps.now()).length === 1;
  };
  let applyError: string | undefined;
  let restoreError: string | undefined;
  let restoreAttempts = 0;
  let restoredAt = 0;
  let recoveredAfterRestoreMs: number | undefined;
  try {
    let applied = false;
    try {
      appliedAt = deps.now();
      await deps.runAction(holder, { action, phase: 'apply' });
      applied = true;
      const left = timing.observeMs - (deps.now() - appliedAt);
      if (left > 0) await deps.sleep(left);
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
      restoredAt = deps.now();
    }
    if (restoreError !== undefined) problems.push(`restoring ${action} on ${holder} failed: ${restoreError}`);

    try {
      while (deps.now() - restoredAt <= timing.recoverTimeoutMs) {
        if (recovered()) {
          recoveredAfterRestoreMs = deps.now() - restoredAt;
          break;
        }
        await deps.sleep(timing.probeIntervalMs);
      }
      if (recoveredAfterRestoreMs !== undefined) await deps.sleep(timing.settleMs);
    } catch (error) {
      problems.push(`watching the recovery failed: ${messageOf(error)}`);
    }
    if (recoveredAfterRestoreMs === undefined) {
      problems.push(`the endpoint did not recover within ${timing.recoverTimeoutMs} ms of the restore`);
    }
  } finally {
    probes.stop();
    // The last probes finish within their own timeout; one that never does is left out.
    for (let i = 0; probes.inFlight() > 0 && i < 100; i++) await deps.sleep(timing.probeIntervalMs);
  }

  const endedAt = deps.now();
  let history: VipHistory = { nodes: [], clockSpreadMs: 0 };
  try {
    history = deps.vipHistory();
  } catch (error) {
    problems.push(`could not read the VIP holders: ${messageOf(error)}`);
  }
  const spans = holderTimeline(history.nodes, appliedAt, endedAt);
  const outages = outagesOf(probes.results);
  const twoHoldersMs = timeWithHolders(spans, endedAt, (n) => n > 1);
  // An overlap no longer than the clocks' disagreement plus the resolution may be only that (each agent's times are
  // moved by its own offset estimate): the timeline shows it, but it is neither a split brain nor counted as one.
  const tolerance = history.clockSpreadMs + reportResolutionMs;
  const maxSimultaneousHolders = Math.max(
    0,
    ...spans
      .filter((s, i) => s.holders.length <= 1 || (spans[i + 1]?.atMs ?? endedAt) - s.atMs > tolerance)
      .map((s) => s.holders.length),
  );
  if (twoHoldersMs > tolerance) {
    const twice = spans.find((s) => s.holders.length > 1)!;
    problems.push(
      `the VIP was on ${twice.holders.join(' and ')} at once (${twice.atMs - appliedAt} ms after the action, ${twoHoldersMs} ms in all)`,
    );
  }
  const movedTo = spans.find((s) => s.holders.length === 1 && s.holders[0] !== holder);
  const relative = (o: Outage): Outage => ({ ...o, fromMs: o.fromMs - appliedAt, toMs: o.toMs - appliedAt });
  const lengths = outages.map((o) => o.toMs - o.fromMs);
  return {
    action,
    ok: problems.length === 0,
    problems,
    initialHolder: holder,
    ...(movedTo ? { vipMovedTo: movedTo.holders[0]! } : {}),
    finalHolders: spans.at(-1)?.holders ?? [],
    maxSimultaneousHolders,
    appliedAtMs: appliedAt,
    endedAtMs: endedAt,
    readyzDowntimeMs: toResolution(lengths.reduce((a, b) => a + b, 0)),
    longestOutageMs: toResolution(Math.max(0, ...lengths)),
    outages: outages.map(relative),
    vipAbsentMs: toResolution(timeWithHolders(spans, endedAt, (n) => n === 0)),
    vipTwoHoldersMs: toResolution(twoHoldersMs),
    holderTimeline: spans.map((s) => ({ atMs: s.atMs - appliedAt, holders: s.holders })),
    clockSpreadMs: history.clockSpreadMs,
    probeIntervalMs: timing.probeIntervalMs,
    resolutionMs: reportResolutionMs,
    probes: probes.started(),
    failedProbes: probes.results.filter((p) => !p.ok).length,
    restoreAttempts,
    ...(applyError !== undefined ? { applyError } : {}),
    ...(restoreError !== undefined ? { restoreError } : {}),
    ...(recoveredAfterRestoreMs !== undefined ? { recoveredAfterRestoreMs } : {}),
  };
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
