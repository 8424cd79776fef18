import { isTerminal, type StepRecord } from '../store/store.ts';
import type { AgentVipTimelines } from './agent-vip-timeline.ts';
import {
  type DrillAction,
  type DrillActionReport,
  type DrillTiming,
  defaultDrillTiming,
  type FailoverDrillReport,
  runFailoverDrill,
  type VipHistory,
} from './failover-drill.ts';
import { createReadyzProbe } from './readyz-probe.ts';

export interface DrillOptions {
  timing?: Partial<DrillTiming>;
  /** The probe of https://ENDPOINT/readyz (tests point it at a local server); caPem undefined: not verified. */
  probeFor?: (endpoint: string, caPem: string | undefined) => () => Promise<boolean>;
  /** The VIP transitions the agents report; without it (or for an agent that sent none) heartbeats say who holds it. */
  vipTimelines?: AgentVipTimelines;
  /** How often the drill looks at an action step it waits for. */
  pollMs?: number;
}

export interface DrillActionParams {
  action: DrillAction;
  phase: 'apply' | 'restore';
}

/** What the drill needs of the run it is a step of. */
export interface DrillRun {
  /** Adds a failover-drill-action step on the node to the run (stored, then sent like any step); returns its id. */
  addActionStep(node: string, params: DrillActionParams): string;
  /** The run's failover-drill-action steps in the order they were added; throws once the run has ended. */
  actionSteps(): StepRecord[];
  /** Gives up an action step that has not started, so that it cannot run later when nobody would restore it. */
  cancelActionStep(id: string, reason: string): void;
  /** Whether the node's agent said at its latest heartbeat that it holds the VIP. */
  holdsVip(node: string): boolean;
  /** The agent bound to the node, if any. */
  agentIdOf(node: string): string | undefined;
  log(message: string): void;
}

/** The drill as the failover-drill step plans it. */
export interface DrillPlan {
  /** The nodes that may hold the VIP. */
  candidates: string[];
  actions: DrillAction[];
  /** host:port of the cluster endpoint, probed at /readyz. */
  endpoint: string;
  /** The cluster CA, when the coordinator knows it. */
  caPem: string | undefined;
}

/** The drill's restore step times out long before the drill step's own 900 s. */
export const drillActionTimeoutSeconds = 300;

/**
 * The failover drill (failover-drill.ts) wired to a run: each action and its restore is a failover-drill-action
 * step added to the run, the VIP holders come from the transitions the agents report (their clocks brought to the
 * coordinator's by the offsets their messages show), and /readyz is probed through the endpoint. After a coordinator restart the drill runs again: first it waits for the action steps still in flight
 * and restores every action that was applied and not restored since, then it drills from the start.
 */
export async function driveDrill(run: DrillRun, plan: DrillPlan, options: DrillOptions): Promise<FailoverDrillReport> {
  const timing: DrillTiming = { ...defaultDrillTiming, ...options.timing };
  const pollMs = options.pollMs ?? 100;
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  const runAction = async (node: string, params: DrillActionParams) => {
    const id = run.addActionStep(node, params);
    const since = Date.now();
    for (;;) {
      const current = run.actionSteps().find((s) => s.id === id);
      if (current?.state === 'succeeded') return;
      if (current?.state === 'pending' && Date.now() - since > drillActionTimeoutSeconds * 1000) {
        run.cancelActionStep(id, `${node} was not reachable`);
        throw new Error(`${node} was not reachable for ${drillActionTimeoutSeconds} s`);
      }
      if (!current || isTerminal(current.state)) {
        throw new Error(current?.error?.message ?? `${id} ${current?.state ?? 'vanished'}`);
      }
      await sleep(pollMs);
    }
  };

  const vipHistory = (): VipHistory => {
    run.actionSteps();
    const offsets: number[] = [];
    const nodes = plan.candidates.map((node) => {
      const agentId = run.agentIdOf(node);
      const history = agentId === undefined ? undefined : options.vipTimelines?.history(agentId);
      if (!history || history.transitions.length === 0) {
        // An agent that reported no transition (an older release): its heartbeat's word, as of ever.
        return { node, changes: run.holdsVip(node) ? [{ atMs: 0, held: true }] : [] };
      }
      const offset = history.clockOffsetMs ?? 0;
      if (history.clockOffsetMs !== undefined) offsets.push(history.clockOffsetMs);
      return { node, changes: history.transitions.map((t) => ({ atMs: t.atMs + offset, held: t.held })) };
    });
    return { nodes, clockSpreadMs: offsets.length > 1 ? Math.max(...offsets) - Math.min(...offsets) : 0 };
  };

  const probeReadyz = (options.probeFor ?? ((ep, ca) => createReadyzProbe({ endpoint: ep, caPem: ca })))(
    plan.endpoint,
    plan.caPem,
  );

  // A drill interrupted by a coordinator restart: what it broke is put back before anything else.
  if (run.actionSteps().length > 0) {
    while (run.actionSteps().some((s) => !isTerminal(s.state))) await sleep(pollMs);
    const broken = applyNotRestored(run.actionSteps());
    run.log(
      broken.length === 0
        ? 'the drill was interrupted (coordinator restart); nothing was left broken; starting over'
        : `the drill was interrupted (coordinator restart); restoring ${broken.map((b) => `${b.action} on ${b.node}`).join(', ')} first`,
    );
    for (const b of broken) {
      let lastError: unknown;
      for (let i = 0; i < timing.restoreAttempts; i++) {
        try {
          await runAction(b.node, { action: b.action, phase: 'restore' });
          lastError = undefined;
          break;
        } catch (error) {
          lastError = error;
        }
      }
      if (lastError !== undefined) throw new Error(`restoring ${b.action} on ${b.node} after a restart failed`);
    }
  }
  run.log(
    plan.caPem
      ? `probing https://${plan.endpoint}/readyz with the cluster CA`
      : `no cluster CA is known to the coordinator: https://${plan.endpoint}/readyz is probed without verifying its certificate`,
  );
  return runFailoverDrill({ runAction, vipHistory, probeReadyz, now: Date.now, sleep }, plan.actions, timing);
}

/** Actions whose last apply step ran (or may have) after their last successful restore, with the node it ran on. */
export function applyNotRestored(steps: StepRecord[]): { action: DrillAction; node: string }[] {
  const out: { action: DrillAction; node: string }[] = [];
  const byAction = new Map<string, StepRecord[]>();
  for (const s of [...steps].sort((a, b) => a.seq - b.seq)) {
    const action = String(s.params['action']);
    byAction.set(action, [...(byAction.get(action) ?? []), s]);
  }
  for (const [action, list] of byAction) {
    const applied = list.filter((s) => s.params['phase'] === 'apply' && s.attempt > 0).at(-1);
    const restored = list.filter((s) => s.params['phase'] === 'restore' && s.state === 'succeeded').at(-1);
    if (applied && (!restored || restored.seq < applied.seq))
      out.push({ action: action as DrillAction, node: applied.node });
  }
  return out;
}

const secondsText = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** One readable line per action of the drill. */
export function drillSummary(a: DrillActionReport): string {
  const moved = a.vipMovedTo
    ? `the VIP moved from ${a.initialHolder} to ${a.vipMovedTo}`
    : `the VIP stayed on ${a.initialHolder ?? 'no node'}`;
  const recovered =
    a.recoveredAfterRestoreMs === undefined
      ? 'not recovered after the restore'
      : `recovered ${secondsText(a.recoveredAfterRestoreMs)} after the restore`;
  return `drill ${a.action}${a.initialHolder ? ` on ${a.initialHolder}` : ''}: ${a.ok ? 'ok' : 'FAILED'}; /readyz through the endpoint failed ${secondsText(a.readyzDowntimeMs)} (longest outage ${secondsText(a.longestOutageMs)}, ${a.failedProbes} of ${a.probes} probes every ${a.probeIntervalMs} ms); ${moved}; no VIP holder ${secondsText(a.vipAbsentMs)}, two ${secondsText(a.vipTwoHoldersMs)} (self-reported, agent clocks ${a.clockSpreadMs} ms apart); ${recovered}${a.problems.length > 0 ? `; problems: ${a.problems.join('; ')}` : ''}`;
}
