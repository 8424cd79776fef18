import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { StepEventReport, StepRef } from '../../common/step-events.ts';

export type FinishedEvent = Extract<StepEventReport, { type: 'finished' }>;

export function stepRefKey(ref: StepRef): string {
  return `${ref.runId}\u0000${ref.stepId}\u0000${ref.attempt}`;
}

function fileName(ref: StepRef): string {
  return `${createHash('sha256').update(stepRefKey(ref)).digest('hex').slice(0, 40)}.json`;
}

/**
 * Finished step results kept on disk (<stateDir>/spool) until the coordinator acknowledges them, so none is lost
 * across a disconnect or an agent restart. One small JSON file per result, written whole (temp, fsync, rename).
 */
export class ResultSpool {
  private readonly dir: string;
  private readonly events = new Map<string, FinishedEvent>();

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.json')) {
        // A temp file of a write that a crash interrupted.
        rmSync(join(dir, name), { force: true });
        continue;
      }
      try {
        const event = JSON.parse(readFileSync(join(dir, name), 'utf8')) as FinishedEvent;
        if (event.type === 'finished' && typeof event.runId === 'string') this.events.set(stepRefKey(event), event);
      } catch {
        rmSync(join(dir, name), { force: true });
      }
    }
  }

  add(event: FinishedEvent): void {
    const path = join(this.dir, fileName(event));
    const temp = `${path}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(event));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    this.events.set(stepRefKey(event), event);
  }

  get(ref: StepRef): FinishedEvent | undefined {
    return this.events.get(stepRefKey(ref));
  }

  /** Drops an acknowledged result; false when it was not spooled. */
  remove(ref: StepRef): boolean {
    if (!this.events.delete(stepRefKey(ref))) return false;
    rmSync(join(this.dir, fileName(ref)), { force: true });
    return true;
  }

  /** Results waiting for their acknowledgement. */
  get size(): number {
    return this.events.size;
  }

  all(): FinishedEvent[] {
    return [...this.events.values()].sort((a, b) => a.atMs - b.atMs);
  }
}
