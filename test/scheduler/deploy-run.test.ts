import { describe, expect, it } from 'vitest';
import type { SimExecution } from '../sim/sim-agent.ts';
import { waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';

const t = simFleetPerTest();

function overlaps(a: SimExecution, b: SimExecution): boolean {
  return (
    a.startedAt < (b.finishedAt ?? Number.POSITIVE_INFINITY) && b.startedAt < (a.finishedAt ?? Number.POSITIVE_INFINITY)
  );
}

describe('a deploy run with simulated agents', () => {
  it('GIVEN 3 control planes and 2 workers WHEN deployed THEN init precedes every join, control-plane joins never overlap, worker joins do', async () => {
    const { sim, spec, executions, agents } = await t.startFleet({
      name: 'sim-a',
      controlPlanes: 3,
      workers: 2,
      script: simScript({ default: 10, 'kubeadm-join': 150 }),
    });

    await sim.api.request('POST', '/v1/clusters', spec);
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/sim-a/runs', { kind: 'deploy' });
    const done = await waitForRunEnd(sim.api, run.id);

    expect(done.state).toBe('succeeded');
    const joins = executions.filter((e) => e.kind === 'kubeadm-join');
    const init = executions.find((e) => e.kind === 'kubeadm-init')!;
    expect(joins).toHaveLength(4);
    for (const join of joins) expect(join.startedAt).toBeGreaterThanOrEqual(init.finishedAt!);
    const cpJoins = joins.filter((e) => e.params['controlPlane'] === true);
    expect(cpJoins.map((e) => e.node)).toEqual(['cp2', 'cp3']);
    expect(overlaps(cpJoins[0]!, cpJoins[1]!)).toBe(false);
    const workerJoins = joins.filter((e) => e.params['controlPlane'] !== true);
    expect(overlaps(workerJoins[0]!, workerJoins[1]!)).toBe(true);

    // Each join used its own token, made on a control plane just before, and deleted after.
    const tokenSteps = done.steps.filter((s) => s.kind === 'join-credentials');
    for (const node of ['cp2', 'cp3', 'w1', 'w2']) {
      const create = tokenSteps.find((s) => s.id.startsWith(`join-credentials/create-token/${node}/`));
      const remove = tokenSteps.find((s) => s.id === `join-credentials/delete-token/${node}`);
      expect(create?.state).toBe('succeeded');
      expect(remove?.state).toBe('succeeded');
      expect(done.steps.find((s) => s.kind === 'kubeadm-join' && s.node === node)?.dependsOn).toContain(create!.id);
    }
    const joinTokens = joins.map((j) => j.params['bootstrapToken']);
    expect(new Set(joinTokens).size).toBe(4);
    for (const join of joins)
      expect(join.params['caCertHashes']).toEqual([expect.stringMatching(/^sha256:[0-9a-f]{64}$/)]);
    expect(cpJoins.every((j) => /^[0-9a-f]{64}$/.test(String(j.params['certificateKey'])))).toBe(true);
    // No step ran twice with the same attempt.
    const keys = executions.map((e) => `${e.stepId}#${e.attempt}`);
    expect(new Set(keys).size).toBe(keys.length);
    // The init node was told it is the init node, then that the cluster is initialized.
    const cp1 = agents.find((a) => a.options.node === 'cp1')!;
    expect(cp1.phases[0]).toMatchObject({ cluster: 'sim-a', init_node: true, initialized: false, lb_port: 16443 });
    expect(cp1.phases.at(-1)?.initialized).toBe(true);
    const cp2 = agents.find((a) => a.options.node === 'cp2')!;
    expect(cp2.phases[0]).toMatchObject({ init_node: false, initialized: false });
  });
});
