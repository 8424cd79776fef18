import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import type { StepFailure } from '../../common/step-events.ts';
import { notStartedStep, type StepRecord } from '../store/store.ts';
import {
  backoffMs,
  failureDecision,
  inFlightFailure,
  raiseHeights,
  readySteps,
  runOutcome,
  stepHeights,
  stepsToSkip,
} from './step-decisions.ts';

function step(id: string, over: Partial<StepRecord> = {}): StepRecord {
  return {
    runId: 'run-1',
    id,
    seq: 0,
    kind: 'host-prep',
    node: 'n1',
    dependsOn: [],
    timeoutSeconds: 60,
    retry: { maxAttempts: 3, initialBackoffMs: 1000, maxBackoffMs: 3000 },
    params: {},
    concurrencyGroup: null,
    bestEffort: false,
    forNode: null,
    ...notStartedStep(),
    ...over,
  };
}

const map = (...steps: StepRecord[]) => new Map(steps.map((s) => [s.id, s]));
const transient: StepFailure = { code: ErrorCode.commandFailed, message: 'x', deterministic: false };

describe('readySteps', () => {
  it('GIVEN dependencies WHEN one is not done THEN the step waits; a best-effort failure counts as done', () => {
    const steps = map(
      step('a', { state: 'succeeded' }),
      step('b', { state: 'running' }),
      step('c', { dependsOn: ['a'] }),
      step('d', { dependsOn: ['a', 'b'] }),
      step('e', { state: 'failed', bestEffort: true }),
      step('f', { dependsOn: ['e'] }),
      step('g', { dependsOn: ['missing'] }),
    );
    expect(readySteps(steps, 0).map((s) => s.id)).toEqual(['c', 'f']);
  });

  it('GIVEN a concurrency group of 2 with one running WHEN four wait THEN one more starts; a preparing step keeps its place', () => {
    const group = { name: 'worker-join', limit: 2 };
    const steps = map(
      step('w1', { concurrencyGroup: group, state: 'running' }),
      step('w2', { concurrencyGroup: group }),
      step('w3', { concurrencyGroup: group }),
      step('w4', { concurrencyGroup: group }),
    );
    expect(readySteps(steps, 0).map((s) => s.id)).toEqual(['w2']);
    const preparing = map(
      step('w1', { concurrencyGroup: group, state: 'preparing' }),
      step('w2', { concurrencyGroup: group, state: 'preparing' }),
      step('w3', { concurrencyGroup: group }),
    );
    expect(readySteps(preparing, 0).map((s) => s.id)).toEqual(['w1', 'w2']);
  });

  it('GIVEN a wide wave beside a long chain WHEN both are ready THEN the chain starts first, and takes the group place first', () => {
    const group = { name: 'worker-join', limit: 2 };
    const steps = map(
      step('cni', { state: 'succeeded' }),
      step('join-w1', { dependsOn: ['cni'], concurrencyGroup: group }),
      step('join-w2', { dependsOn: ['cni'], concurrencyGroup: group }),
      step('join-cp2', { dependsOn: ['cni'], concurrencyGroup: group }),
      step('join-cp3', { dependsOn: ['join-cp2'] }),
      step('verify', { dependsOn: ['join-cp3', 'join-w1', 'join-w2'] }),
    );
    const heights = stepHeights(steps);
    expect(Object.fromEntries(heights)).toEqual({
      cni: 3,
      'join-w1': 1,
      'join-w2': 1,
      'join-cp2': 2,
      'join-cp3': 1,
      verify: 0,
    });
    expect(readySteps(steps, 0, heights).map((s) => s.id)).toEqual(['join-cp2', 'join-w1']);
    expect(readySteps(steps, 0).map((s) => s.id)).toEqual(['join-w1', 'join-w2']);
  });

  it('GIVEN a step added at run time before a join WHEN its height is raised THEN it and what it waits for rank above the join', () => {
    const steps = map(
      step('init', { state: 'succeeded' }),
      step('join-w1', { dependsOn: ['init'] }),
      step('token-w1', { dependsOn: ['init'] }),
    );
    const heights = new Map([
      ['init', 1],
      ['join-w1', 0],
      ['token-w1', 0],
    ]);
    raiseHeights(heights, steps, 'token-w1', 1);
    expect(Object.fromEntries(heights)).toEqual({ init: 2, 'join-w1': 0, 'token-w1': 1 });
    expect(readySteps(steps, 0, heights).map((s) => s.id)).toEqual(['token-w1', 'join-w1']);
  });

  it('GIVEN a retry waiting for its backoff WHEN the time has not come THEN it waits', () => {
    const steps = map(step('a', { state: 'retry-wait', attempt: 1, nextAttemptAt: 5000 }));
    expect(readySteps(steps, 4999)).toEqual([]);
    expect(readySteps(steps, 5000).map((s) => s.id)).toEqual(['a']);
  });
});

describe('failureDecision', () => {
  it('GIVEN transient failures THEN retries back off exponentially, capped, until maxAttempts', () => {
    expect(failureDecision(step('a', { attempt: 1 }), transient, 100)).toEqual({
      state: 'retry-wait',
      nextAttemptAt: 1100,
    });
    expect(failureDecision(step('a', { attempt: 2 }), transient, 100)).toEqual({
      state: 'retry-wait',
      nextAttemptAt: 2100,
    });
    expect(failureDecision(step('a', { attempt: 3 }), transient, 100)).toEqual({ state: 'failed' });
    expect(backoffMs({ maxAttempts: 9, initialBackoffMs: 1000, maxBackoffMs: 3000 }, 5)).toBe(3000);
  });

  it('GIVEN a deterministic failure or a preflight THEN it is never retried', () => {
    expect(failureDecision(step('a', { attempt: 1 }), { ...transient, deterministic: true }, 0)).toEqual({
      state: 'failed',
    });
    expect(failureDecision(step('a', { attempt: 1, kind: 'preflight' }), transient, 0)).toEqual({ state: 'failed' });
  });

  it('GIVEN a failure whose code says no retry can help THEN it is final even when the flag was not set', () => {
    for (const code of [ErrorCode.stepRefused, ErrorCode.paramsInvalid, ErrorCode.specInvalid]) {
      expect(failureDecision(step('a', { attempt: 1 }), { ...transient, code, deterministic: false }, 0)).toEqual({
        state: 'failed',
      });
    }
    expect(
      failureDecision(
        step('a', { attempt: 1 }),
        { ...transient, code: ErrorCode.commandFailed, deterministic: false },
        0,
      ),
    ).toEqual({ state: 'retry-wait', nextAttemptAt: 1000 });
  });
});

describe('run outcome', () => {
  it('GIVEN a required failure THEN waiting steps are skipped and the run fails once nothing is in flight', () => {
    const steps = [
      step('a', { state: 'failed' }),
      step('b', { state: 'running' }),
      step('c'),
      step('d', { state: 'retry-wait' }),
    ];
    expect(stepsToSkip(steps).map((s) => s.id)).toEqual(['c', 'd']);
    expect(runOutcome(steps)).toBe('running');
    expect(runOutcome([step('a', { state: 'failed' }), step('c', { state: 'skipped' })])).toBe('failed');
    expect(runOutcome([step('a', { state: 'succeeded' }), step('e', { state: 'failed', bestEffort: true })])).toBe(
      'succeeded',
    );
  });

  it('GIVEN an in-flight step WHEN past its deadline or away too long THEN it has failed transiently', () => {
    expect(inFlightFailure(step('a', { state: 'running', deadlineAt: 100 }), 101, 1000)?.code).toBe(
      'KUBEHA_STEP_TIMEOUT',
    );
    expect(
      inFlightFailure(step('a', { state: 'dispatched', deadlineAt: 9999, disconnectedAt: 0 }), 1001, 1000)?.code,
    ).toBe('KUBEHA_AGENT_DISCONNECTED');
    expect(
      inFlightFailure(step('a', { state: 'dispatched', deadlineAt: 9999, disconnectedAt: 0 }), 999, 1000),
    ).toBeUndefined();
  });
});
