import type { ApiClient } from '../api-client.ts';
import { runEventsStream } from '../run-events-stream.ts';
import { progressBar, type RunDetailView, RunProgress, renderRunProgress } from '../run-progress.ts';

export interface WatchOutput {
  write(text: string): void;
  isTTY: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows a run until it ends: on a terminal the view is redrawn in place; otherwise each change is one appended
 * line. Reconnects (from the last event seen) when the coordinator restarts. Exit code 0 when the run succeeded.
 */
export async function watchCommand(api: ApiClient, runId: string, output: WatchOutput): Promise<number> {
  const run = await api.request<RunDetailView>('GET', `/v1/runs/${encodeURIComponent(runId)}`);
  // The view starts from nothing and replays the run's event log, so that what it shows is always in event order.
  const progress = new RunProgress({
    ...run,
    state: 'running',
    error: null,
    steps: run.steps.map((s) => ({ ...s, state: 'pending', attempt: 0, dispatchedAt: null })),
  });
  let drawn = 0;
  const redraw = () => {
    const lines = renderRunProgress(progress);
    output.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
    drawn = lines.length;
  };
  if (output.isTTY) redraw();

  let lastDraw = 0;
  for (let reconnects = 0; !progress.finished && reconnects < 30; reconnects++) {
    try {
      for await (const event of runEventsStream(api, runId, progress.lastEventId || undefined)) {
        reconnects = 0;
        const node = progress.apply(event);
        if (output.isTTY) {
          if (Date.now() - lastDraw > 100 || progress.finished) {
            redraw();
            lastDraw = Date.now();
          }
        } else if (node) {
          const { done, total } = progress.counts();
          output.write(`${progress.nodeLine(node)}  [${done}/${total}]\n`);
        }
      }
    } catch {
      await sleep(1_000);
    }
    if (!progress.finished) {
      const run = await api
        .request<RunDetailView>('GET', `/v1/runs/${encodeURIComponent(runId)}`)
        .catch(() => undefined);
      if (run && ['succeeded', 'failed', 'cancelled'].includes(run.state)) {
        progress.state = run.state;
        progress.error = run.error;
      }
    }
  }
  if (output.isTTY) redraw();
  else {
    const { done, total } = progress.counts();
    output.write(
      `${progressBar(done, total)}  run ${runId} ${progress.state}${progress.error ? `: ${progress.error}` : ''}${progress.note ? `: ${progress.note}` : ''}\n`,
    );
  }
  return progress.state === 'succeeded' ? 0 : 1;
}
