import type { RunDetail, RunStepDetail } from '../api/routes/runs-routes.ts';
import { isRunFinished, isTerminal } from '../store/store.ts';
import type { RunEventView } from './run-events-stream.ts';

export type RunStepView = RunStepDetail;
export type RunDetailView = RunDetail;

/** A run's live state for `kubeha watch`, built from GET /v1/runs/:id and then from its events alone. */
export class RunProgress {
  readonly runId: string;
  state: string;
  error: string | null;
  lastEventId = 0;
  /** Said by the run's last event beyond its state ("up to date, nothing changed on any node"). */
  note: string | null = null;
  /** Per node: what it waits for before its next step can start (no agent yet). */
  private readonly waiting = new Map<string, string>();
  private readonly steps = new Map<string, { node: string; state: string; attempt: number }>();
  /** Per node: the step it is on now (its latest step event). */
  private readonly current = new Map<string, { stepId: string; state: string; attempt: number }>();

  constructor(run: RunDetailView) {
    this.runId = run.id;
    this.state = run.state;
    this.error = run.error;
    for (const s of run.steps) this.steps.set(s.id, { node: s.node, state: s.state, attempt: s.attempt });
    const byTime = [...run.steps]
      .filter((s) => s.dispatchedAt !== null)
      .sort((a, b) => Date.parse(a.dispatchedAt!) - Date.parse(b.dispatchedAt!));
    for (const s of byTime) this.current.set(s.node, { stepId: s.id, state: s.state, attempt: s.attempt });
    for (const s of run.steps) {
      if (!this.current.has(s.node)) this.current.set(s.node, { stepId: s.id, state: s.state, attempt: s.attempt });
    }
  }

  get finished(): boolean {
    return isRunFinished(this.state);
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
    const attempt = event.attempt ?? 0;
    this.steps.set(event.stepId, { node: event.node, state: event.state, attempt });
    // A step added for later does not move the node off what it is doing now.
    if (event.state === 'pending' && this.current.has(event.node)) return undefined;
    this.current.set(event.node, { stepId: event.stepId, state: event.state, attempt });
    return event.node;
  }

  counts(): { done: number; total: number } {
    let finished = 0;
    for (const s of this.steps.values()) if (isTerminal(s.state)) finished++;
    return { done: finished, total: this.steps.size };
  }

  nodeLine(node: string): string {
    const c = this.current.get(node);
    const waiting = this.waiting.get(node);
    if (!c) return `${node}  ${waiting ?? '-'}`;
    return `${node}  ${c.stepId}  ${c.state}${c.attempt > 1 ? ` (attempt ${c.attempt})` : ''}${waiting ? `  ${waiting}` : ''}`;
  }

  nodes(): string[] {
    return [...this.current.keys()];
  }
}

export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total === 0 ? 0 : done / total;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} steps (${Math.round(ratio * 100)}%)`;
}

/** The whole view: one aligned line per node, then the run's progress bar and state. */
export function renderRunProgress(progress: RunProgress, maxNodes = 60): string[] {
  const nodes = progress.nodes();
  const width = Math.max(...nodes.map((n) => n.length), 4);
  const shown = nodes.slice(0, maxNodes).map((n) => progress.nodeLine(n).replace(/^(\S+)/, (m) => m.padEnd(width)));
  if (nodes.length > maxNodes) shown.push(`… and ${nodes.length - maxNodes} more nodes`);
  const { done, total } = progress.counts();
  return [
    ...shown,
    `${progressBar(done, total)}  run ${progress.runId} ${progress.state}${progress.error ? `: ${progress.error}` : ''}${progress.note ? `: ${progress.note}` : ''}`,
  ];
}
