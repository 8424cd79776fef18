import { describe, expect, it } from 'vitest';
import {
  crashAndRestart,
  enrollWithCoordinatorProcess,
  startCoordinatorInTempDir,
} from '../sim/coordinator-process.ts';
import type { SimAgent, SimExecution } from '../sim/sim-agent.ts';
import type { RunView } from '../sim/sim-coordinator.ts';
import { simClusterSpec, simScript } from '../sim/sim-fleet.ts';
import { cleanupsAfterEach } from '../support/cleanups.ts';
import { waitFor } from '../support/wait-for.ts';

const cleanups = cleanupsAfterEach();

describe('a plan run across a coordinator crash', () => {
  it('GIVEN a plan of a new cluster WHEN the coordinator is SIGKILLed half-way THEN the restarted one resumes the plan of the same spec to the end, and still stores no cluster', async () => {
    const output: string[] = [];
    let coordinator = await startCoordinatorInTempDir({ prefix: 'kubeha-plan-crash-', cleanups, output });
    const { spec, nodes } = simClusterSpec({ name: 'plan-crash', controlPlanes: 3, workers: 2 });
    const executions: SimExecution[] = [];
    const agents: SimAgent[] = await enrollWithCoordinatorProcess(coordinator, {
      nodes,
      executions,
      script: simScript({ default: 150 }, (step) =>
        step.dryRun ? { changes: [`${step.kind} on ${step.node}`], outputs: {} } : undefined,
      ),
    });
    cleanups.push(() => Promise.all(agents.map((a) => a.stop())).then(() => undefined));
    for (const a of agents) a.start();
    await waitFor('every agent connected', () => agents.every((a) => a.connected));
    const { run } = await coordinator.api.request<{ run: { id: string } }>(
      'POST',
      '/v1/clusters/plan-crash/plan',
      spec,
    );

    // WHEN the coordinator dies once the preflights are done and before the dry runs have all come back
    await waitFor(
      'the preflights to finish',
      async () => {
        const r = await coordinator.api.request<RunView>('GET', `/v1/runs/${run.id}`);
        return r.steps.filter((s) => s.kind === 'preflight' && s.state === 'succeeded').length === 5;
      },
      60_000,
      10,
    );
    coordinator = await crashAndRestart(coordinator);

    // THEN the plan ends as it would have, from the spec it was asked about
    const ended = await waitFor(
      'the plan to finish',
      async () => {
        const r = await coordinator.api.request<RunView & { steps: { wouldChange?: string[] }[] }>(
          'GET',
          `/v1/runs/${run.id}`,
        );
        return r.state === 'running' ? undefined : r;
      },
      120_000,
      100,
    );
    expect(ended.state, JSON.stringify(ended.steps.filter((s) => s.error))).toBe('succeeded');
    expect(ended.steps.find((s) => s.id === 'host-prep/w2')).toMatchObject({ wouldChange: ['host-prep on w2'] });
    expect(executions.filter((e) => !e.dryRun)).toEqual([]);
    // AND nothing of it is stored as a cluster
    await expect(coordinator.api.request('GET', '/v1/clusters/plan-crash')).rejects.toMatchObject({ status: 404 });
  }, 240_000);
});
