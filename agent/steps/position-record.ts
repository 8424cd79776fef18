import type { StepRef } from '../../common/step-events.ts';
import type { Host } from '../host/host.ts';

/** What the agent last did for one step kind on this node, so the coordinator can tell done, drifted and never-run apart. */
export interface StepPosition {
  paramsChecksum: string;
  /** "applying" is written before a step changes anything: a crash leaves it there and the step runs again. */
  state: 'applying' | 'applied' | 'failed';
  changed: boolean;
  atMs: number;
  ref?: StepRef;
}

export interface Position {
  version: 1;
  steps: Record<string, StepPosition>;
}

export function positionPath(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, '')}/position.json`;
}

export async function readPosition(host: Host, stateDir: string): Promise<Position> {
  const text = await host.readFile(positionPath(stateDir));
  if (!text) return { version: 1, steps: {} };
  try {
    const parsed = JSON.parse(text) as Position;
    if (parsed && typeof parsed.steps === 'object' && parsed.steps !== null) return { version: 1, steps: parsed.steps };
  } catch {
    // A damaged position file only means the coordinator re-runs steps; every step is idempotent.
  }
  return { version: 1, steps: {} };
}

export async function recordPosition(
  host: Host,
  stateDir: string,
  kind: string,
  position: StepPosition,
): Promise<void> {
  const current = await readPosition(host, stateDir);
  current.steps[kind] = position;
  await host.mkdir(stateDir, 0o700);
  await host.writeFileAtomic(positionPath(stateDir), `${JSON.stringify(current, null, 2)}\n`, 0o600);
}
