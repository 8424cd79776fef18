import { describe, expect, it } from 'vitest';
import type { RunEventView } from './run-events-stream.ts';
import { progressBar, type RunDetailView, RunProgress, renderRunProgress } from './run-progress.ts';

const step = (id: string, node: string, state: string, dispatchedAt: string | null = null) => ({
  id,
  kind: 'k',
  node,
  forNode: null,
  state,
  attempt: state === 'pending' ? 0 : 1,
  maxAttempts: 3,
  dependsOn: [],
  bestEffort: false,
  changed: false,
  dispatchedAt,
  startedAt: null,
  finishedAt: null,
  nextAttemptAt: null,
  error: null,
});

const run: RunDetailView = {
  id: 'run-1',
  cluster: 'c',
  kind: 'deploy',
  state: 'running',
  createdAt: '2026-01-01T00:00:00Z',
  finishedAt: null,
  error: null,
  steps: [
    step('preflight/cp1', 'cp1', 'succeeded', '2026-01-01T00:00:01Z'),
    step('host-prep/cp1', 'cp1', 'running', '2026-01-01T00:00:02Z'),
    step('preflight/w1', 'w1', 'pending'),
  ],
};

const event = (id: number, over: Partial<RunEventView>): RunEventView => ({
  id,
  runId: 'run-1',
  at: '2026-01-01T00:00:03Z',
  type: 'step',
  stepId: null,
  node: null,
  attempt: 1,
  state: null,
  message: '',
  ...over,
});

describe('RunProgress', () => {
  it('GIVEN a run WHEN events arrive THEN each node shows its latest step, the bar counts finished steps, and the run ends', () => {
    const progress = new RunProgress(run);
    expect(progress.nodeLine('cp1')).toBe('cp1  host-prep/cp1  running');
    expect(progress.counts()).toEqual({ done: 1, total: 3 });
    expect(progress.apply(event(5, { stepId: 'host-prep/cp1', node: 'cp1', state: 'succeeded' }))).toBe('cp1');
    expect(progress.apply(event(6, { stepId: 'join/cp1', node: 'cp1', state: 'pending', attempt: 0 }))).toBeUndefined();
    expect(progress.apply(event(7, { stepId: 'preflight/w1', node: 'w1', state: 'retry-wait', attempt: 2 }))).toBe(
      'w1',
    );
    expect(progress.nodeLine('w1')).toBe('w1  preflight/w1  retry-wait (attempt 2)');
    expect(progress.counts()).toEqual({ done: 2, total: 4 });
    progress.apply(event(8, { type: 'run', state: 'failed', message: 'deploy run failed: preflight/w1: boom' }));
    expect(progress.finished).toBe(true);
    expect(progress.lastEventId).toBe(8);
    const lines = renderRunProgress(progress);
    expect(lines[0]).toBe('cp1   host-prep/cp1  succeeded');
    expect(lines.at(-1)).toBe(`${progressBar(2, 4)}  run run-1 failed: deploy run failed: preflight/w1: boom`);
    expect(progressBar(1, 4, 8)).toBe('[##......] 1/4 steps (25%)');
  });

  it('GIVEN a step waiting for an agent THEN its node line says so until the node moves on; an up-to-date deploy says it at the end', () => {
    const progress = new RunProgress(run);
    const waiting = 'preflight/w1: waiting for an agent that reports 10.231.0.23 (w1)';
    expect(progress.apply(event(5, { stepId: 'preflight/w1', node: 'w1', state: 'pending', message: waiting }))).toBe(
      'w1',
    );
    expect(progress.nodeLine('w1')).toBe(
      'w1  preflight/w1  pending  waiting for an agent that reports 10.231.0.23 (w1)',
    );
    progress.apply(event(6, { stepId: 'preflight/w1', node: 'w1', state: 'dispatched' }));
    expect(progress.nodeLine('w1')).toBe('w1  preflight/w1  dispatched');
    progress.apply(
      event(7, {
        type: 'run',
        state: 'succeeded',
        message: 'deploy run succeeded: up to date, nothing changed on any node',
      }),
    );
    expect(renderRunProgress(progress).at(-1)).toContain(
      'run run-1 succeeded: up to date, nothing changed on any node',
    );
  });
});
