import { ErrorCode, isNonRetryableCode } from '../../common/errors.ts';
import type { StepFailure } from '../../common/step-events.ts';
import { isTerminal, type RunState, type StepRecord, type StepState } from '../store/store.ts';

const inFlight: ReadonlySet<StepState> = new Set(['dispatched', 'running']);
/** States that hold a place in the step's concurrency group. */
const holdingSlot: ReadonlySet<StepState> = new Set(['preparing', 'dispatched', 'running']);

export function isInFlight(state: StepState): boolean {
  return inFlight.has(state);
}

/** A dependency is satisfied by success, or by the failure of a best-effort step. */
function satisfies(step: StepRecord): boolean {
  return step.state === 'succeeded' || (step.bestEffort && step.state === 'failed');
}

function dependenciesSatisfied(steps: ReadonlyMap<string, StepRecord>, step: StepRecord): boolean {
  for (const id of step.dependsOn) {
    const dependency = steps.get(id);
    if (dependency === undefined || !satisfies(dependency)) return false;
  }
  return true;
}

function isRequiredFailure(step: StepRecord): boolean {
  return step.state === 'failed' && !step.bestEffort;
}

/** The steps that wait for each step, by its id. */
export function stepDependents(steps: Iterable<StepRecord>): Map<string, Set<string>> {
  const dependents = new Map<string, Set<string>>();
  for (const s of steps) addDependent(dependents, s.id, s.dependsOn);
  return dependents;
}

/** Files `dependent` under each of `dependencies`. */
export function addDependent(
  dependents: Map<string, Set<string>>,
  dependent: string,
  dependencies: readonly string[],
): void {
  for (const d of dependencies) {
    const set = dependents.get(d);
    if (set) set.add(dependent);
    else dependents.set(d, new Set([dependent]));
  }
}

function isWaiting(s: StepRecord, now: number): boolean {
  return (
    s.state === 'pending' ||
    s.state === 'preparing' ||
    (s.state === 'retry-wait' && (s.nextAttemptAt === null || s.nextAttemptAt <= now))
  );
}

/**
 * Whether a step's new result may let something start or end, so that a pass over every step of the run is worth
 * making now: a failure (retries, skips, the run's end), a freed place in a concurrency group, a step with nothing
 * waiting for it (the run may be over), or a step waiting for it that is now ready. A thousand preflights end
 * together and only the last lets the cross-node checks start; a thousand worker joins end together and only the
 * last lets verify start: the others need no pass.
 */
export function resultMayUnlock(
  steps: ReadonlyMap<string, StepRecord>,
  dependents: ReadonlyMap<string, ReadonlySet<string>>,
  step: StepRecord,
  now: number,
): boolean {
  if (step.state !== 'succeeded' || step.concurrencyGroup) return true;
  const waiting = dependents.get(step.id);
  if (!waiting || waiting.size === 0) return true;
  for (const id of waiting) {
    const d = steps.get(id);
    if (d && isWaiting(d, now) && dependenciesSatisfied(steps, d)) return true;
  }
  return false;
}

/**
 * Each step's height: how many steps the longest chain of steps waiting for it holds (0 when none waits for it).
 * The tallest ready steps start first: a control plane's join credentials leave before a thousand workers' ones.
 */
export function stepHeights(
  steps: ReadonlyMap<string, StepRecord>,
  dependents: ReadonlyMap<string, ReadonlySet<string>> = stepDependents(steps.values()),
): Map<string, number> {
  const heights = new Map<string, number>();
  const heightOf = (id: string, path: Set<string>): number => {
    const known = heights.get(id);
    if (known !== undefined) return known;
    // A cycle never becomes ready; it must not hang the scheduler either.
    if (path.has(id)) return 0;
    path.add(id);
    let height = 0;
    for (const dependent of dependents.get(id) ?? []) height = Math.max(height, heightOf(dependent, path) + 1);
    path.delete(id);
    heights.set(id, height);
    return height;
  };
  const path = new Set<string>();
  for (const id of steps.keys()) heightOf(id, path);
  return heights;
}

/**
 * Keeps heights (from stepHeights) exact when `dependent`, of height `height`, comes to wait for `dependencyId`: a
 * step added at run time (join credentials, a cleanup) or a dependency added to a step. Heights only ever grow.
 */
export function raiseHeights(
  heights: Map<string, number>,
  steps: ReadonlyMap<string, StepRecord>,
  dependencyId: string,
  height: number,
): void {
  if ((heights.get(dependencyId) ?? -1) >= height) return;
  heights.set(dependencyId, height);
  for (const d of steps.get(dependencyId)?.dependsOn ?? []) raiseHeights(heights, steps, d, height + 1);
}

/**
 * The steps that may start now: every dependency satisfied, a retry's backoff elapsed, and room in the concurrency
 * group (a step that already holds a place, while its join credentials are made, keeps it). Tallest first (see
 * stepHeights) when heights are given, in insertion order among equals; places in a group go in that order too.
 */
export function readySteps(
  steps: ReadonlyMap<string, StepRecord>,
  now: number,
  heights?: ReadonlyMap<string, number>,
): StepRecord[] {
  // One walk over every step, on every pass of the scheduler: plain loops, no closure per step.
  const occupancy = new Map<string, number>();
  const candidates: StepRecord[] = [];
  for (const s of steps.values()) {
    if (s.concurrencyGroup && holdingSlot.has(s.state)) {
      occupancy.set(s.concurrencyGroup.name, (occupancy.get(s.concurrencyGroup.name) ?? 0) + 1);
    }
    if (isWaiting(s, now) && dependenciesSatisfied(steps, s)) candidates.push(s);
  }
  if (heights) candidates.sort((a, b) => (heights.get(b.id) ?? 0) - (heights.get(a.id) ?? 0));
  const ready: StepRecord[] = [];
  for (const s of candidates) {
    if (s.concurrencyGroup && s.state !== 'preparing') {
      const used = occupancy.get(s.concurrencyGroup.name) ?? 0;
      if (used >= s.concurrencyGroup.limit) continue;
      occupancy.set(s.concurrencyGroup.name, used + 1);
    }
    ready.push(s);
  }
  return ready;
}

export type FailureDecision = { state: 'retry-wait'; nextAttemptAt: number } | { state: 'failed' };

/**
 * Deterministic failures (invalid input, a failed preflight, a step's refusal) are final, whether the agent said so
 * or its error code does (an older agent may not set the flag); others are retried with exponential backoff.
 */
export function failureDecision(step: StepRecord, failure: StepFailure, now: number): FailureDecision {
  if (
    failure.deterministic ||
    isNonRetryableCode(failure.code) ||
    step.kind === 'preflight' ||
    step.attempt >= step.retry.maxAttempts
  ) {
    return { state: 'failed' };
  }
  return { state: 'retry-wait', nextAttemptAt: now + backoffMs(step.retry, step.attempt) };
}

export function backoffMs(retry: StepRecord['retry'], failedAttempt: number): number {
  return Math.min(retry.initialBackoffMs * 2 ** Math.max(0, failedAttempt - 1), retry.maxBackoffMs);
}

/** Steps never to start because a required step failed for good. */
export function stepsToSkip(steps: Iterable<StepRecord>): StepRecord[] {
  const all = [...steps];
  if (!all.some(isRequiredFailure)) return [];
  return all.filter((s) => s.state === 'pending' || s.state === 'preparing' || s.state === 'retry-wait');
}

/** The run's state from its steps: it ends when nothing is in flight and nothing can start. */
export function runOutcome(steps: Iterable<StepRecord>): Extract<RunState, 'running' | 'succeeded' | 'failed'> {
  let failed = false;
  for (const s of steps) {
    if (!isTerminal(s.state)) return 'running';
    if (isRequiredFailure(s) || s.state === 'skipped' || s.state === 'cancelled') failed = true;
  }
  return failed ? 'failed' : 'succeeded';
}

/** Why an in-flight step has to be given up on now, if it has. */
export function inFlightFailure(step: StepRecord, now: number, disconnectGraceMs: number): StepFailure | undefined {
  if (!isInFlight(step.state)) return undefined;
  if (step.deadlineAt !== null && now > step.deadlineAt) {
    return {
      code: ErrorCode.stepTimeout,
      message: `no result within ${step.timeoutSeconds} s`,
      deterministic: false,
    };
  }
  if (step.disconnectedAt !== null && now - step.disconnectedAt > disconnectGraceMs) {
    return {
      code: ErrorCode.agentDisconnected,
      message: `the agent of ${step.node} has been disconnected for more than ${Math.round(disconnectGraceMs / 1000)} s`,
      deterministic: false,
    };
  }
  return undefined;
}
