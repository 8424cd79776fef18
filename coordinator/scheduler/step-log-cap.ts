/** How many log lines the coordinator stores per step attempt, and how long each may be. */
export const stepLogLimits = { linesPerAttempt: 2_000, lineLength: 4_096 } as const;

/**
 * Counts the log lines each step attempt sent: past the cap, one notice is stored and the rest dropped, so one
 * chatty (or hostile) agent cannot fill the store and every watcher's stream.
 */
export class StepLogCap {
  private readonly counts = new Map<string, number>();
  private readonly limits: { linesPerAttempt: number; lineLength: number };

  constructor(limits: { linesPerAttempt: number; lineLength: number } = stepLogLimits) {
    this.limits = limits;
  }

  /** The line to store (cut to the line length), the one notice at the cap, or undefined past it. */
  admit(runId: string, stepId: string, attempt: number, text: string): string | undefined {
    const key = `${runId}\u0000${stepId}\u0000${attempt}`;
    const count = (this.counts.get(key) ?? 0) + 1;
    if (count > this.limits.linesPerAttempt + 1) return undefined;
    this.counts.set(key, count);
    if (count === this.limits.linesPerAttempt + 1) {
      return `[kubeha] more than ${this.limits.linesPerAttempt} log lines: the rest of this attempt's log is not stored`;
    }
    return text.length > this.limits.lineLength ? `${text.slice(0, this.limits.lineLength)} [cut]` : text;
  }

  /** Forgets a finished run's counts. */
  forget(runId: string): void {
    const prefix = `${runId}\u0000`;
    for (const key of this.counts.keys()) if (key.startsWith(prefix)) this.counts.delete(key);
  }
}
