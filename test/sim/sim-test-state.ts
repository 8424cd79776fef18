import { rmSync } from 'node:fs';
import { afterEach } from 'vitest';
import type { SimAgent } from './sim-agent.ts';
import type { SimCoordinator } from './sim-coordinator.ts';
import { stopSimFleet } from './sim-fleet.ts';

export interface SimTestState {
  sim: SimCoordinator | undefined;
  agents: SimAgent[];
  /** A scratch directory of the test, removed after it. */
  dir: string | undefined;
}

/** What one test starts of the simulated fleet, stopped and removed after each test of the file, also after a failure. */
export function simFleetPerTest(): SimTestState {
  const state: SimTestState = { sim: undefined, agents: [], dir: undefined };
  afterEach(async () => {
    await stopSimFleet(state.agents, state.sim);
    state.sim = undefined;
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
    state.dir = undefined;
  });
  return state;
}
