import { describe, expect, it } from 'vitest';
import type { RunEventView } from './run-events-stream.ts';
import {
  phaseSummaries,
  progressBar,
  type RunDetailView,
  RunProgress,
  renderPhaseSummary,
  renderRunProgress,
} from './run-progress.ts';

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
  attempts: [],
});

const run: RunDetailView = {
  id: 'run-1',
  cluster: 'c',
  kind: 'deploy',
  state: 'running',
  createdAt: '2026-01-01T00:00:00Z',
  finishedAt: null,
  error: null,
  lastEventId: 4,
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

const now = Date.parse('2026-01-01T00:00:05Z');

describe('RunProgress', () => {
  it('GIVEN a run WHEN events arrive THEN each node shows its latest step, the bar counts succeeded steps, and the run ends', () => {
    const progress = new RunProgress(run);
    expect(progress.nodeLine('cp1', now)).toBe('cp1  host-prep/cp1  running');
    expect(progress.counts()).toEqual({ done: 1, total: 3, failed: 0, skipped: 0, cancelled: 0 });
    expect(progress.apply(event(5, { stepId: 'host-prep/cp1', node: 'cp1', state: 'succeeded' }))).toBe('cp1');
    expect(progress.apply(event(6, { stepId: 'join/cp1', node: 'cp1', state: 'pending', attempt: 0 }))).toBeUndefined();
    expect(progress.apply(event(7, { stepId: 'preflight/w1', node: 'w1', state: 'retry-wait', attempt: 2 }))).toBe(
      'w1',
    );
    expect(progress.nodeLine('w1', now)).toBe('w1  preflight/w1  retry-wait (attempt 2)');
    expect(progress.counts()).toMatchObject({ done: 2, total: 4 });
    progress.apply(event(8, { type: 'run', state: 'failed', message: 'deploy run failed: preflight/w1: boom' }));
    expect(progress.finished).toBe(true);
    expect(progress.lastEventId).toBe(8);
    const lines = renderRunProgress(progress, now);
    // dispatched at 00:00:02, succeeded at 00:00:03
    expect(lines[0]).toBe('cp1   host-prep/cp1  succeeded  1.0s');
    expect(lines.at(-1)).toBe(
      `${progressBar({ done: 2, total: 4 })}  run run-1 failed: deploy run failed: preflight/w1: boom`,
    );
    expect(progressBar({ done: 1, total: 4 }, 8)).toBe('[##......] 1/4 steps (25%)');
  });

  it('GIVEN a step that failed and waits to retry WHEN the detail has its attempt THEN the line says the first line of the error and when it retries', () => {
    const progress = new RunProgress(run);
    progress.apply(event(5, { stepId: 'preflight/w1', node: 'w1', state: 'retry-wait', attempt: 1 }));
    expect(progress.missesFailureOf('preflight/w1')).toBe(true);
    progress.learn({
      steps: [
        {
          ...run.steps[2]!,
          attempts: [
            {
              attempt: 1,
              finishedAt: '2026-01-01T00:00:03Z',
              retryAt: '2026-01-01T00:00:09Z',
              error: {
                code: 'KUBEHA_COMMAND_FAILED',
                message: 'cni: kubectl apply exited 1\nsecond line',
                command: 'kubectl apply -f calico.yaml',
                exitCode: 1,
                stderrTail: 'connect: EHOSTUNREACH',
                deterministic: false,
              },
            },
          ],
        },
      ],
    });
    expect(progress.missesFailureOf('preflight/w1')).toBe(false);
    expect(progress.nodeLine('w1', now)).toBe(
      'w1  preflight/w1  retry-wait  cni: kubectl apply exited 1; retry 2 at 00:00:09Z (in 4.0s)',
    );
  });

  it('GIVEN a failed run with skipped steps THEN the bar counts them apart and never reads 100 %', () => {
    const progress = new RunProgress(run);
    progress.apply(event(5, { stepId: 'host-prep/cp1', node: 'cp1', state: 'failed' }));
    progress.apply(event(6, { stepId: 'preflight/w1', node: 'w1', state: 'skipped', attempt: 0 }));
    expect(progress.counts()).toEqual({ done: 1, total: 3, failed: 1, skipped: 1, cancelled: 0 });
    expect(progress.statusLine()).toBe(
      '[##########....................] 1/3 steps (33%), 1 failed, 1 skipped  run run-1 running',
    );
  });

  it('GIVEN a step waiting for an agent THEN its node line says so until the node moves on; an up-to-date deploy says it at the end', () => {
    const progress = new RunProgress(run);
    const waiting = 'preflight/w1: waiting for an agent that reports 10.231.0.23 (w1)';
    expect(progress.apply(event(5, { stepId: 'preflight/w1', node: 'w1', state: 'pending', message: waiting }))).toBe(
      'w1',
    );
    expect(progress.nodeLine('w1', now)).toBe(
      'w1  preflight/w1  pending  waiting for an agent that reports 10.231.0.23 (w1)',
    );
    progress.apply(event(6, { stepId: 'preflight/w1', node: 'w1', state: 'dispatched' }));
    expect(progress.nodeLine('w1', now)).toBe('w1  preflight/w1  dispatched');
    progress.apply(
      event(7, {
        type: 'run',
        state: 'succeeded',
        message: 'deploy run succeeded: up to date, nothing changed on any node',
      }),
    );
    expect(renderRunProgress(progress, now).at(-1)).toContain(
      'run run-1 succeeded: up to date, nothing changed on any node',
    );
  });
});

describe('phaseSummaries', () => {
  it('GIVEN finished steps of two phases THEN each phase has its wall time from first start to last end and its slowest node', () => {
    const timed = (id: string, node: string, start: string, end: string) => ({
      ...step(id, node, 'succeeded', `2026-01-01T00:00:${start}Z`),
      startedAt: `2026-01-01T00:00:${start}Z`,
      finishedAt: `2026-01-01T00:00:${end}Z`,
    });
    const summaries = phaseSummaries({
      steps: [
        timed('host-prep/cp1', 'cp1', '01', '04'),
        timed('host-prep/w1', 'w1', '02', '09'),
        timed('kubeadm-init/cp1', 'cp1', '10', '30'),
        step('verify/cp1', 'cp1', 'pending'),
      ],
    });
    expect(summaries).toEqual([
      { phase: 'host-prep', steps: 2, wallMs: 8_000, slowest: { node: 'w1', ms: 7_000 } },
      { phase: 'kubeadm-init', steps: 1, wallMs: 20_000, slowest: { node: 'cp1', ms: 20_000 } },
    ]);
    expect(renderPhaseSummary(summaries)).toEqual([
      'PHASE         STEPS  WALL      SLOWEST NODE',
      'host-prep         2  8.0s      w1 (7.0s)',
      'kubeadm-init      1  20.0s     cp1 (20.0s)',
    ]);
  });
});
