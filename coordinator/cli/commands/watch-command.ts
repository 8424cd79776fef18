import type { ApiClient } from '../api-client.ts';
import { formatStructured, isStructured, type OutputFormat } from '../output-format.ts';
import { runEventsStream } from '../run-events-stream.ts';
import {
  phaseSummaries,
  type RunDetailView,
  RunProgress,
  renderPhaseSummary,
  renderRunProgress,
} from '../run-progress.ts';

export interface WatchOutput {
  write(text: string): void;
  isTTY: boolean;
}

export interface WatchOptions {
  /** -o json|yaml: no live view; the run's final detail at its end. */
  format?: OutputFormat;
  /** Where the note on Ctrl-C goes (stderr). */
  err?: (text: string) => void;
  /** Registers what Ctrl-C does while the run is followed; returns the unregistration. */
  onInterrupt?: (handler: () => void) => () => void;
  /** Milliseconds between redraws of a terminal view at most; 100 unless said. */
  redrawMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const finishedStates = ['succeeded', 'failed', 'cancelled'];

/** The exit code of a run that ended (or 130 when the operator stopped watching) and its last detail. */
export interface FollowedRun {
  code: number;
  run: RunDetailView | undefined;
}

/**
 * Follows a run until it ends. On a terminal the view starts from the run's state as the coordinator has it now and
 * is redrawn in place; otherwise every change since the run began is one appended line, in event order. Reconnects
 * (from the last event seen) when the coordinator restarts. Ends with the wall time per phase.
 */
export async function followRun(
  api: ApiClient,
  runId: string,
  output: WatchOutput,
  options: WatchOptions = {},
): Promise<FollowedRun> {
  const quiet = isStructured(options.format ?? 'table');
  const live = output.isTTY && !quiet;
  const detail = () => api.request<RunDetailView>('GET', `/v1/runs/${encodeURIComponent(runId)}`);
  const run = await detail();
  // A terminal shows the state now and the events after it; a log replays the run from its start, in order.
  const progress = live
    ? new RunProgress(run)
    : new RunProgress({
        ...run,
        state: 'running',
        error: null,
        steps: run.steps.map((s) => ({
          ...s,
          state: 'pending',
          attempt: 0,
          dispatchedAt: null,
          startedAt: null,
          finishedAt: null,
        })),
      });
  if (live) progress.lastEventId = run.lastEventId;
  progress.learn(run);

  let drawn = 0;
  let lastDraw = 0;
  let trailing: NodeJS.Timeout | undefined;
  const redraw = () => {
    clearTimeout(trailing);
    trailing = undefined;
    lastDraw = Date.now();
    const lines = renderRunProgress(progress, Date.now());
    output.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
    drawn = lines.length;
  };
  // At most one frame per redrawMs, and always one after the last change: a burst never leaves a stale view.
  const redrawSoon = () => {
    const wait = (options.redrawMs ?? 100) - (Date.now() - lastDraw);
    if (wait <= 0) redraw();
    else trailing ??= setTimeout(redraw, wait);
  };
  const ticker = live ? setInterval(redraw, 1_000) : undefined;
  if (live) redraw();

  const stop = new AbortController();
  let interrupted = false;
  const unregister = options.onInterrupt?.(() => {
    interrupted = true;
    stop.abort();
  });
  try {
    for (let reconnects = 0; !progress.finished && !interrupted && reconnects < 30; reconnects++) {
      try {
        for await (const event of runEventsStream(api, runId, progress.lastEventId || undefined, stop.signal)) {
          reconnects = 0;
          const node = progress.apply(event);
          if (event.stepId && progress.missesFailureOf(event.stepId)) {
            progress.learn(await detail().catch(() => ({ steps: [] })));
          }
          if (quiet) continue;
          if (live) redrawSoon();
          else if (node)
            output.write(`${progress.nodeLine(node, Date.parse(event.at))}  [${progressLabel(progress)}]\n`);
        }
      } catch {
        if (interrupted) break;
        await sleep(1_000);
      }
      if (!progress.finished && !interrupted) {
        const now = await detail().catch(() => undefined);
        if (now && finishedStates.includes(now.state)) {
          progress.state = now.state;
          progress.error = now.error;
        }
      }
    }
  } finally {
    clearInterval(ticker);
    clearTimeout(trailing);
    unregister?.();
  }
  if (interrupted) {
    if (live) redraw();
    options.err?.(
      `kubeha: stopped watching; run ${runId} goes on in the coordinator.\n` +
        `  follow it again: kubeha watch ${runId}\n  cancel it:       kubeha run cancel ${runId}`,
    );
    return { code: 130, run: undefined };
  }
  const last = await detail().catch(() => undefined);
  if (last) progress.settle(last);
  const summary = last ? renderPhaseSummary(phaseSummaries(last)) : [];
  if (live) {
    redraw();
    if (summary.length > 0) output.write(`\n${summary.join('\n')}\n`);
  } else if (!quiet) {
    if (summary.length > 0) output.write(`${summary.join('\n')}\n`);
    output.write(`${progress.statusLine()}\n`);
  }
  return { code: progress.state === 'succeeded' ? 0 : 1, run: last };
}

function progressLabel(progress: RunProgress): string {
  const { done, total } = progress.counts();
  return `${done}/${total}`;
}

/** `kubeha watch RUN`: follows the run; with -o json|yaml prints its final detail instead of the live view. */
export async function watchCommand(
  api: ApiClient,
  runId: string,
  output: WatchOutput,
  options: WatchOptions = {},
): Promise<number> {
  const followed = await followRun(api, runId, output, options);
  const format = options.format ?? 'table';
  if (isStructured(format) && followed.run) output.write(`${formatStructured(format, followed.run)}\n`);
  return followed.code;
}
