import { describe, expect, it } from 'vitest';
import { crashWhenRunReaches, startCoordinatorProcessWithFleet } from '../sim/coordinator-process.ts';
import { leakedSecrets, secretsSentToAgents } from '../sim/secret-values.ts';
import type { SimExecution } from '../sim/sim-agent.ts';
import { waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript } from '../sim/sim-fleet.ts';
import { cleanupsAfterEach } from '../support/cleanups.ts';

const cleanups = cleanupsAfterEach();

interface Outcome {
  state: string;
  steps: Record<string, string>;
  executions: SimExecution[];
  output: string[];
}

/** A deploy of 3 control planes + 2 workers against a coordinator process, SIGKILLed when the run reaches each point. */
async function deploy(name: string, killAt: number[]): Promise<Outcome> {
  const output: string[] = [];
  const fleet = await startCoordinatorProcessWithFleet({
    prefix: 'kubeha-crash-',
    cleanups,
    output,
    name,
    controlPlanes: 3,
    workers: 2,
    script: simScript({ default: 40 }),
  });
  const { spec, executions } = fleet;
  let { coordinator } = fleet;
  await coordinator.api.request('POST', '/v1/clusters', spec);
  const { id } = await coordinator.api.request<{ id: string }>('POST', `/v1/clusters/${name}/runs`, { kind: 'deploy' });

  for (const point of killAt) {
    coordinator = await crashWhenRunReaches(
      coordinator,
      id,
      `${point} finished steps`,
      (run) => run.steps.filter((s) => s.state === 'succeeded').length >= point || run.state !== 'running',
    );
  }
  const run = await waitForRunEnd(coordinator.api, id, 120_000);
  return {
    state: run.state,
    steps: Object.fromEntries(run.steps.map((s) => [s.id, `${s.state}#${s.attempt}`])),
    executions,
    output,
  };
}

describe('a coordinator killed with SIGKILL mid-run', () => {
  it('GIVEN 10 kills at different points of a deploy WHEN restarted each time THEN the run ends as an uninterrupted one, no step run twice', async () => {
    const reference = await deploy('crash-ref', []);
    expect(reference.state).toBe('succeeded');
    const total = Object.keys(reference.steps).length;
    const points = Array.from({ length: 10 }, (_, i) => Math.max(1, Math.round(((i + 1) * (total - 2)) / 11)));

    const crashed = await deploy('crash-ref', points);

    expect(crashed.state).toBe(reference.state);
    expect(crashed.steps).toEqual(reference.steps);
    const keys = crashed.executions.map((e) => `${e.stepId}#${e.attempt}`);
    expect(new Set(keys).size).toBe(keys.length);
    const restarts = crashed.output
      .join('')
      .split('\n')
      .filter((l) => l.includes('resuming run'));
    expect(restarts.length).toBeGreaterThanOrEqual(9);
    expect(leakedSecrets(secretsSentToAgents(crashed.executions), crashed.output)).toEqual([]);
  }, 240_000);
});
