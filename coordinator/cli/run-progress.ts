import type { RunDetail, RunStepDetail } from '../api/routes/runs-routes.ts';
import { isRunFinished } from '../store/store.ts';
import type { RunEventView } from './run-events-stream.ts';

export type RunStepView = RunStepDetail;
export type RunDetailView = RunDetail;

interface StepProgress {
  node: string;
  state: string;
  attempt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** What an attempt that failed said, and when the next one is due. */
interface AttemptFailure {
  firstLine: string;
  retryAt: number | null;
}

const firstLine = (text: string) => text.split('\n', 1)[0] ?? '';
const time = (iso: string | null) => (iso === null ? null : Date.parse(iso));

export function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** A run's live state for `kubeha watch`: from GET /v1/runs/:id, then from its events. */
export class RunProgress {
  readonly runId: string;
  state: string;
  error: string | null;
  lastEventId = 0;
  /** Said by the run's last event beyond its state ("up to date, nothing changed on any node"). */
  note: string | null = null;
  /** Per node: what it waits for before its next step can start (no agent yet). */
  private readonly waiting = new Map<string, string>();
  private readonly steps = new Map<string, StepProgress>();
  /** Per node: the step it is on now (its latest step event). */
  private readonly current = new Map<string, string>();
  /** Per "stepId#attempt": what that failed attempt said (from the run's detail). */
  private readonly failures = new Map<string, AttemptFailure>();

  constructor(run: RunDetailView) {
    this.runId = run.id;
    this.state = run.state;
    this.error = run.error;
    for (const s of run.steps) {
      this.steps.set(s.id, {
        node: s.node,
        state: s.state,
        attempt: s.attempt,
        startedAt: time(s.startedAt ?? s.dispatchedAt),
        finishedAt: time(s.finishedAt),
      });
    }
    this.learn(run);
    const byTime = [...run.steps]
      .filter((s) => s.dispatchedAt !== null)
      .sort((a, b) => Date.parse(a.dispatchedAt!) - Date.parse(b.dispatchedAt!));
    for (const s of byTime) this.current.set(s.node, s.id);
    for (const s of run.steps) if (!this.current.has(s.node)) this.current.set(s.node, s.id);
  }

  get finished(): boolean {
    return isRunFinished(this.state);
  }

  /** Takes each failed attempt's error and retry time from the run's detail (events carry only a summary). */
  learn(run: Pick<RunDetailView, 'steps'>): void {
    for (const s of run.steps) {
      for (const a of s.attempts ?? []) {
        this.failures.set(`${s.id}#${a.attempt}`, { firstLine: firstLine(a.error.message), retryAt: time(a.retryAt) });
      }
      if (s.error && !this.failures.has(`${s.id}#${s.attempt}`)) {
        this.failures.set(`${s.id}#${s.attempt}`, {
          firstLine: firstLine(s.error.message),
          retryAt: s.state === 'retry-wait' ? time(s.nextAttemptAt) : null,
        });
      }
    }
  }

  /** The run as the coordinator has it at its end: steps that ended without an event of their own (cancelled) too. */
  settle(run: RunDetailView): void {
    this.learn(run);
    for (const s of run.steps) {
      const known = this.steps.get(s.id);
      this.steps.set(s.id, {
        node: s.node,
        state: s.state,
        attempt: s.attempt,
        startedAt: known?.startedAt ?? time(s.startedAt ?? s.dispatchedAt),
        finishedAt: time(s.finishedAt) ?? known?.finishedAt ?? null,
      });
    }
    if (isRunFinished(run.state)) {
      this.state = run.state;
      this.error = run.error;
    }
  }

  /** Whether the view lacks the error of a step that failed or waits to retry (the detail has it). */
  missesFailureOf(stepId: string): boolean {
    const s = this.steps.get(stepId);
    return !!s && (s.state === 'retry-wait' || s.state === 'failed') && !this.failures.has(`${stepId}#${s.attempt}`);
  }

  /** Applies one event; returns the node whose line changed, if any. */
  apply(event: RunEventView): string | undefined {
    this.lastEventId = Math.max(this.lastEventId, event.id);
    if (event.type === 'run' && event.state) {
      this.state = event.state;
      if (event.state !== 'running') this.error = event.state === 'succeeded' ? null : event.message;
      const said = /^\S+ run succeeded: (.+)$/.exec(event.message);
      this.note = event.state === 'succeeded' && said ? said[1]! : null;
      return undefined;
    }
    if (event.type !== 'step' || !event.stepId || !event.node || !event.state) return undefined;
    const waitingFor = /: (waiting for .+)$/.exec(event.message);
    if (event.state === 'pending' && waitingFor) {
      this.waiting.set(event.node, waitingFor[1]!);
      return event.node;
    }
    this.waiting.delete(event.node);
    const at = Date.parse(event.at);
    const before = this.steps.get(event.stepId);
    const step: StepProgress = {
      node: event.node,
      state: event.state,
      attempt: event.attempt ?? before?.attempt ?? 0,
      startedAt: before?.startedAt ?? null,
      finishedAt: before?.finishedAt ?? null,
    };
    if (event.state === 'dispatched' || event.state === 'running') {
      // From its dispatch, then from the agent starting it.
      step.startedAt = at;
      step.finishedAt = null;
    } else if (['succeeded', 'failed', 'retry-wait', 'cancelled'].includes(event.state)) {
      step.finishedAt = at;
    }
    this.steps.set(event.stepId, step);
    // A step added for later does not move the node off what it is doing now.
    if (event.state === 'pending' && this.current.has(event.node)) return undefined;
    this.current.set(event.node, event.stepId);
    return event.node;
  }

  /** Finished steps apart by how they ended: skipped and cancelled steps are not progress. */
  counts(): { done: number; total: number; failed: number; skipped: number; cancelled: number } {
    let done = 0;
    let failed = 0;
    let skipped = 0;
    let cancelled = 0;
    for (const s of this.steps.values()) {
      if (s.state === 'succeeded') done++;
      else if (s.state === 'failed') failed++;
      else if (s.state === 'skipped') skipped++;
      else if (s.state === 'cancelled') cancelled++;
    }
    return { done, total: this.steps.size, failed, skipped, cancelled };
  }

  nodeLine(node: string, now: number): string {
    const stepId = this.current.get(node);
    const waiting = this.waiting.get(node);
    const c = stepId === undefined ? undefined : this.steps.get(stepId);
    if (!c || stepId === undefined) return `${node}  ${waiting ?? '-'}`;
    let line = `${node}  ${stepId}  ${c.state}${c.attempt > 1 ? ` (attempt ${c.attempt})` : ''}`;
    if (c.state === 'succeeded' && c.startedAt !== null && c.finishedAt !== null) {
      line += `  ${seconds(c.finishedAt - c.startedAt)}`;
    }
    if (c.state === 'retry-wait' || c.state === 'failed') {
      const failure = this.failures.get(`${stepId}#${c.attempt}`);
      if (failure) line += `  ${failure.firstLine}`;
      if (c.state === 'retry-wait' && failure?.retryAt != null) {
        line += `; retry ${c.attempt + 1} at ${new Date(failure.retryAt).toISOString().slice(11, 19)}Z (in ${seconds(Math.max(0, failure.retryAt - now))})`;
      }
    }
    return waiting ? `${line}  ${waiting}` : line;
  }

  nodes(): string[] {
    return [...this.current.keys()];
  }

  statusLine(): string {
    return `${progressBar(this.counts())}  run ${this.runId} ${this.state}${this.error ? `: ${this.error}` : ''}${this.note ? `: ${this.note}` : ''}`;
  }
}

/** The bar fills with the steps that succeeded; failed, skipped and cancelled steps are counted apart. */
export function progressBar(
  counts: { done: number; total: number; failed?: number; skipped?: number; cancelled?: number },
  width = 30,
): string {
  const { done, total } = counts;
  const ratio = total === 0 ? 0 : done / total;
  const filled = Math.round(ratio * width);
  const apart = (['failed', 'skipped', 'cancelled'] as const)
    .filter((k) => (counts[k] ?? 0) > 0)
    .map((k) => `${counts[k]} ${k}`);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} steps (${Math.floor(ratio * 100)}%)${apart.length > 0 ? `, ${apart.join(', ')}` : ''}`;
}

/** The whole view: one aligned line per node, then the run's progress bar and state. */
export function renderRunProgress(progress: RunProgress, now: number, maxNodes = 60): string[] {
  const nodes = progress.nodes();
  const width = Math.max(...nodes.map((n) => n.length), 4);
  const shown = nodes
    .slice(0, maxNodes)
    .map((n) => progress.nodeLine(n, now).replace(/^(\S+)/, (m) => m.padEnd(width)));
  if (nodes.length > maxNodes) shown.push(`… and ${nodes.length - maxNodes} more nodes`);
  return [...shown, progress.statusLine()];
}

export interface PhaseSummary {
  phase: string;
  steps: number;
  wallMs: number;
  slowest: { node: string; ms: number };
}

/** Per phase (the step ID before "/"), in the order phases started: wall time from first start to last end, and the slowest node. */
export function phaseSummaries(run: Pick<RunDetailView, 'steps'>): PhaseSummary[] {
  const phases = new Map<
    string,
    { start: number; end: number; steps: number; slowest: { node: string; ms: number } }
  >();
  for (const s of run.steps) {
    const start = time(s.startedAt ?? s.dispatchedAt);
    const end = time(s.finishedAt);
    if (start === null || end === null) continue;
    const phase = s.id.split('/')[0]!;
    const ms = Math.max(0, end - start);
    const p = phases.get(phase);
    if (!p) {
      phases.set(phase, { start, end, steps: 1, slowest: { node: s.node, ms } });
      continue;
    }
    p.start = Math.min(p.start, start);
    p.end = Math.max(p.end, end);
    p.steps++;
    if (ms > p.slowest.ms) p.slowest = { node: s.node, ms };
  }
  return [...phases.entries()]
    .sort((a, b) => a[1].start - b[1].start)
    .map(([phase, p]) => ({ phase, steps: p.steps, wallMs: p.end - p.start, slowest: p.slowest }));
}

export function renderPhaseSummary(summaries: PhaseSummary[]): string[] {
  if (summaries.length === 0) return [];
  const width = Math.max(5, ...summaries.map((s) => s.phase.length));
  return [
    `${'PHASE'.padEnd(width)}  STEPS  WALL      SLOWEST NODE`,
    ...summaries.map(
      (s) =>
        `${s.phase.padEnd(width)}  ${String(s.steps).padStart(5)}  ${seconds(s.wallMs).padEnd(8)}  ${s.slowest.node} (${seconds(s.slowest.ms)})`,
    ),
  ];
}
