import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.ts';
import { ApiClient } from '../api-client.ts';
import type { RunEventView } from '../run-events-stream.ts';
import type { RunDetailView } from '../run-progress.ts';
import { followRun } from './watch-command.ts';

const runId = 'run-00000000-0000-0000-0000-000000000001';

function detail(state: string, stepStates: Record<string, string>): RunDetailView {
  return {
    id: runId,
    cluster: 'c',
    kind: 'deploy',
    state,
    createdAt: '2026-01-01T00:00:00Z',
    finishedAt: null,
    error: null,
    lastEventId: 10,
    steps: Object.entries(stepStates).map(([id, s]) => ({
      id,
      kind: 'k',
      node: id.split('/')[1]!,
      forNode: null,
      state: s,
      attempt: s === 'pending' ? 0 : 1,
      maxAttempts: 3,
      dependsOn: [],
      bestEffort: false,
      changed: false,
      dispatchedAt: s === 'pending' ? null : '2026-01-01T00:00:01Z',
      startedAt: null,
      finishedAt: null,
      nextAttemptAt: null,
      error: null,
      attempts: [],
    })),
  };
}

const frame = (e: Partial<RunEventView> & { id: number }) =>
  `id: ${e.id}\ndata: ${JSON.stringify({ runId, at: '2026-01-01T00:00:02Z', type: 'step', stepId: null, node: null, attempt: 1, state: null, message: '', ...e })}\n\n`;

/** A coordinator that answers the run's detail and holds its event stream open until the test ends it. */
function fakeCoordinator(initial: RunDetailView) {
  let current = initial;
  let push: (text: string) => void = () => {};
  let close: () => void = () => {};
  const requests: string[] = [];
  const api = new ApiClient('http://127.0.0.1:1', 't', async (url, init) => {
    const path = new URL(String(url)).pathname;
    requests.push(`${path} ${((init?.headers ?? {}) as Record<string, string>)['last-event-id'] ?? ''}`.trim());
    if (path.endsWith('/events')) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          push = (text) => controller.enqueue(new TextEncoder().encode(text));
          close = () => controller.close();
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }
    return new Response(JSON.stringify(current), { status: 200 });
  });
  return {
    api,
    requests,
    push: (text: string) => push(text),
    end: (last: RunDetailView) => {
      current = last;
      close();
    },
  };
}

describe('kubeha watch on a terminal', () => {
  it('GIVEN a run under way WHEN attached THEN the first frame is its state now and the stream starts after its last event; a burst inside the throttle is drawn once it ends; the run end is drawn last', async () => {
    const coordinator = fakeCoordinator(
      detail('running', { 'preflight/a': 'succeeded', 'host-prep/a': 'running', 'preflight/b': 'succeeded' }),
    );
    let screen = '';
    const watching = followRun(coordinator.api, runId, { isTTY: true, write: (t) => (screen += t) }, { redrawMs: 300 });
    await waitFor('the first frame', () => screen.includes('steps ('));
    expect(screen).toContain('a     host-prep/a  running');
    expect(screen).toContain('2/3 steps');
    await waitFor('the event stream', () => coordinator.requests.some((r) => r.endsWith('/events 10')));

    // A burst right after a frame: no frame for each event, but one with the last state once the burst is over.
    coordinator.push(frame({ id: 11, stepId: 'host-prep/a', node: 'a', state: 'succeeded' }));
    coordinator.push(frame({ id: 12, stepId: 'host-prep/b', node: 'b', state: 'dispatched' }));
    coordinator.push(frame({ id: 13, stepId: 'host-prep/b', node: 'b', state: 'running' }));
    // Each frame starts by moving the cursor up over the one before.
    const lastFrame = () => screen.slice(screen.lastIndexOf('A\x1b[2K'));
    await waitFor('the burst drawn', () => /b\s+host-prep\/b\s+running/.test(lastFrame()));
    expect(lastFrame()).toMatch(/a\s+host-prep\/a\s+succeeded/);

    coordinator.push(frame({ id: 14, type: 'run', state: 'succeeded', message: 'deploy run succeeded' }));
    coordinator.end(
      detail('succeeded', {
        'preflight/a': 'succeeded',
        'host-prep/a': 'succeeded',
        'preflight/b': 'succeeded',
        'host-prep/b': 'succeeded',
      }),
    );
    const followed = await watching;
    expect(followed.code).toBe(0);
    expect(lastFrame()).toMatch(/4\/4 steps \(100%\)\s+run \S+ succeeded/);
  });
});
