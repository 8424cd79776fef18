import { describe, expect, it } from 'vitest';
import { startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript, startSimFleet } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { runKubehaCli } from '../support/run-command.ts';

const t = simFleetPerTest();

interface ClusterView {
  spec: { spec: { nodes: { name: string }[]; allowEvenControlPlanes: boolean } };
  appliedSpec: { spec: { nodes: { name: string }[] } } | null;
}

describe('kubeha node remove', () => {
  it('GIVEN a deployed cluster WHEN a worker, then a dead control plane are removed THEN each run removes its node (nothing runs on the dead one), and removing a control plane that etcd needs is refused with the numbers', async () => {
    t.sim = await startSimCoordinator();
    const fleet = await startSimFleet(t.sim, { name: 'rm', controlPlanes: 3, workers: 2, script: simScript() });
    t.agents = fleet.agents;
    await t.sim.api.request('PUT', '/v1/clusters/rm', fleet.spec);
    const deploy = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/rm/runs', { kind: 'deploy' });
    expect((await waitForRunEnd(t.sim.api, deploy.id)).state).toBe('succeeded');

    // WHEN w2 is removed, watched to the end
    const worker = await runKubehaCli(t.sim.coordinator, ['node', 'remove', 'rm', 'w2', '--yes']);
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stdout).toMatch(/removing node w2 of rm: deploy run (\S+) started/);
    const removalRun = /deploy run (\S+) started/.exec(worker.stdout)![1]!;
    const ranIn = (runId: string) => fleet.executions.filter((e) => e.runId === runId && !e.dryRun);
    expect(
      ranIn(removalRun)
        .filter((e) => ['drain-node', 'delete-node', 'kubeadm-reset'].includes(e.kind))
        .map((e) => `${e.stepId}@${e.node}`),
    ).toEqual(['drain-node/w2@cp1', 'delete-node/w2@cp1', 'reset/w2@w2']);
    let cluster = await t.sim.api.request<ClusterView>('GET', '/v1/clusters/rm');
    expect(cluster.appliedSpec?.spec.nodes.map((n) => n.name)).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
    // AND w2's agent no longer serves the name: a machine that takes it later is bound anew
    const { bindings } = t.sim.coordinator.store;
    expect(bindings.bound('rm', 'w1')).toBeDefined();
    expect(bindings.bound('rm', 'w2')).toBeUndefined();

    // WHEN cp3 is removed as dead, without watching
    const dead = await runKubehaCli(t.sim.coordinator, [
      'node',
      'remove',
      'rm',
      'cp3',
      '--dead',
      '--yes',
      '--no-watch',
    ]);
    expect(dead.code, dead.stderr).toBe(0);
    const deadRun = /deploy run (\S+) started/.exec(dead.stdout)![1]!;
    expect((await waitForRunEnd(t.sim.api, deadRun)).state).toBe('succeeded');
    // THEN nothing ran on cp3, its member went through cp1, and two control planes are accepted until a replacement
    expect(ranIn(deadRun).filter((e) => e.node === 'cp3')).toEqual([]);
    const member = ranIn(deadRun).find((e) => e.kind === 'remove-etcd-member');
    expect(member).toMatchObject({ node: 'cp1', params: { memberPeerUrl: 'https://10.10.0.13:2380' } });
    cluster = await t.sim.api.request<ClusterView>('GET', '/v1/clusters/rm');
    expect(cluster.spec.spec.allowEvenControlPlanes).toBe(true);
    expect(bindings.bound('rm', 'cp3')).toBeUndefined();

    // WHEN cp2 is removed too: one of two would be left, and etcd's two members need both
    const refused = await runKubehaCli(t.sim.coordinator, ['node', 'remove', 'rm', 'cp2', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "removing 1 of the 2 control planes (cp2) would leave 1, fewer than the 2 that etcd's 2 members need for quorum",
    );
    // AND the desired spec is left as it was
    cluster = await t.sim.api.request<ClusterView>('GET', '/v1/clusters/rm');
    expect(cluster.spec.spec.nodes.map((n) => n.name)).toEqual(['cp1', 'cp2', 'w1']);
    // AND a node the cluster does not have is named
    const unknown = await runKubehaCli(t.sim.coordinator, ['node', 'remove', 'rm', 'w9', '--yes']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('cluster rm has no node w9 in its applied spec');
  });
});
