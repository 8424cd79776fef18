import { describe, expect, it } from 'vitest';
import { crashWhenRunReaches, startCoordinatorProcessWithFleet } from '../sim/coordinator-process.ts';
import { waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript } from '../sim/sim-fleet.ts';
import { cleanupsAfterEach } from '../support/cleanups.ts';

const cleanups = cleanupsAfterEach();

describe('a plan run across a coordinator crash', () => {
  it('GIVEN a plan of a new cluster WHEN the coordinator is SIGKILLed half-way THEN the restarted one resumes the plan of the same spec to the end, and still stores no cluster', async () => {
    const fleet = await startCoordinatorProcessWithFleet({
      prefix: 'kubeha-plan-crash-',
      cleanups,
      name: 'plan-crash',
      controlPlanes: 3,
      workers: 2,
      script: simScript({ default: 150 }, (step) =>
        step.dryRun ? { changes: [`${step.kind} on ${step.node}`], outputs: {} } : undefined,
      ),
    });
    const { spec, executions } = fleet;
    let { coordinator } = fleet;
    const { run } = await coordinator.api.request<{ run: { id: string } }>(
      'POST',
      '/v1/clusters/plan-crash/plan',
      spec,
    );

    // WHEN the coordinator dies once the preflights are done and before the dry runs have all come back
    coordinator = await crashWhenRunReaches(
      coordinator,
      run.id,
      'the preflights to finish',
      (r) => r.steps.filter((s) => s.kind === 'preflight' && s.state === 'succeeded').length === 5,
    );

    // THEN the plan ends as it would have, from the spec it was asked about
    const ended = await waitForRunEnd(coordinator.api, run.id, 120_000);
    expect(ended.state, JSON.stringify(ended.steps.filter((s) => s.error))).toBe('succeeded');
    expect(ended.steps.find((s) => s.id === 'host-prep/w2')).toMatchObject({ wouldChange: ['host-prep on w2'] });
    expect(executions.filter((e) => !e.dryRun)).toEqual([]);
    // AND nothing of it is stored as a cluster
    await expect(coordinator.api.request('GET', '/v1/clusters/plan-crash')).rejects.toMatchObject({ status: 404 });
  }, 240_000);
});
