import { rmSync } from 'node:fs';
import { afterEach } from 'vitest';
import type { SimAgent } from './sim-agent.ts';
import { type SimCoordinator, startSimCoordinator } from './sim-coordinator.ts';
import { startSimFleet, stopSimFleet } from './sim-fleet.ts';

export interface SimTestState {
  sim: SimCoordinator | undefined;
  agents: SimAgent[];
  /** A scratch directory of the test, removed after it. */
  dir: string | undefined;
  /** Starts a coordinator, kept here to be stopped after the test. */
  startCoordinator(options?: Parameters<typeof startSimCoordinator>[0]): Promise<SimCoordinator>;
  /** Starts a coordinator (with `coordinator`'s options) and a fleet for it, kept here to be stopped after the test. */
  startFleet(
    fleet: Parameters<typeof startSimFleet>[1],
    coordinator?: Parameters<typeof startSimCoordinator>[0],
  ): Promise<{ sim: SimCoordinator } & Awaited<ReturnType<typeof startSimFleet>>>;
}

/** What one test starts of the simulated fleet, stopped and removed after each test of the file, also after a failure. */
export function simFleetPerTest(): SimTestState {
  const state: SimTestState = {
    sim: undefined,
    agents: [],
    dir: undefined,
    async startCoordinator(options) {
      state.sim = await startSimCoordinator(options);
      return state.sim;
    },
    async startFleet(fleet, coordinator) {
      const sim = await state.startCoordinator(coordinator);
      const started = await startSimFleet(sim, fleet);
      state.agents = started.agents;
      return { sim, ...started };
    },
  };
  afterEach(async () => {
    await stopSimFleet(state.agents, state.sim);
    state.sim = undefined;
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
    state.dir = undefined;
  });
  return state;
}
