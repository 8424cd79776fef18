import type { ProbeResult } from './drill-figures.ts';

export interface ProbeClock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const realProbeClock: ProbeClock = {
  now: Date.now,
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export interface ProbeSchedule {
  /** Finished probes, in the order they finished (each stamped with its start). */
  readonly results: readonly ProbeResult[];
  /** How many probes were started. */
  started(): number;
  /** Probes started and not finished yet (each is bounded by its own timeout). */
  inFlight(): number;
  /** No new probe starts. */
  stop(): void;
}

/**
 * Starts `probe` every `intervalMs` on a fixed schedule, each independent of the others: a probe that hangs until
 * its timeout never delays the next one. A tick that fires late (a busy event loop) starts one probe and keeps the
 * schedule; it does not catch up with a burst.
 */
export function startProbeSchedule(
  probe: () => Promise<boolean>,
  intervalMs: number,
  clock: ProbeClock = realProbeClock,
): ProbeSchedule {
  const results: ProbeResult[] = [];
  const inFlight = new Set<Promise<void>>();
  let count = 0;
  let stopped = false;
  let cancel: () => void = () => {};
  const first = clock.now();
  const fire = () => {
    if (stopped) return;
    const startedAtMs = clock.now();
    count++;
    const running = probe()
      .catch(() => false)
      .then((ok) => {
        results.push({ startedAtMs, ok });
      });
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
    const elapsed = clock.now() - first;
    const next = (Math.floor(elapsed / intervalMs) + 1) * intervalMs;
    cancel = clock.after(next - elapsed, fire);
  };
  fire();
  return {
    results,
    started: () => count,
    inFlight: () => inFlight.size,
    stop() {
      stopped = true;
      cancel();
    },
  };
}
