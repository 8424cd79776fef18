import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
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

describe('kubeha apply --dead-node', () => {
  it('GIVEN a deployed cluster WHEN the same spec is applied with w2 marked dead THEN in one run w2 is removed without anything run on it, then joins again as the machine at its address', async () => {
    t.sim = await startSimCoordinator();
    const fleet = await startSimFleet(t.sim, { name: 'rep', controlPlanes: 3, workers: 2, script: simScript() });
    t.agents = fleet.agents;
    await t.sim.api.request('PUT', '/v1/clusters/rep', fleet.spec);
    const deploy = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/rep/runs', { kind: 'deploy' });
    expect((await waitForRunEnd(t.sim.api, deploy.id)).state).toBe('succeeded');
    t.dir = mkdtempSync(join(tmpdir(), 'kubeha-dead-'));
    const file = join(t.dir, 'cluster.yaml');
    writeFileSync(file, stringify(fleet.spec));

    // WHEN
    const applied = await runKubehaCli(t.sim.coordinator, ['apply', '-f', file, '--dead-node', 'w2', '--yes']);

    // THEN the removal came first, from cp1, and the join after it
    expect(applied.code, applied.stderr).toBe(0);
    const runId = /deploy run (\S+) started/.exec(applied.stdout)![1]!;
    const ran = fleet.executions.filter((e) => e.runId === runId && !e.dryRun);
    const order = ran.map((e) => e.stepId);
    expect(ran.find((e) => e.stepId === 'drain-node/w2')).toMatchObject({ node: 'cp1', params: { dead: true } });
    expect(order.indexOf('delete-node/w2')).toBeGreaterThan(order.indexOf('drain-node/w2'));
    expect(order.indexOf('join-worker/w2')).toBeGreaterThan(order.indexOf('delete-node/w2'));
    // AND nothing ran on w2 before its Node was deleted but what prepares the new machine
    const beforeDelete = ran.slice(0, order.indexOf('delete-node/w2')).filter((e) => e.node === 'w2');
    for (const e of beforeDelete)
      expect(['preflight', 'host-prep', 'container-runtime', 'kube-packages']).toContain(e.kind);
    // AND w2 is a member again: a deploy of the same spec joins nothing
    const again = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/rep/runs', { kind: 'deploy' });
    const second = await waitForRunEnd(t.sim.api, again.id);
    expect(second.state).toBe('succeeded');
    expect(second.steps.filter((s) => ['kubeadm-join', 'drain-node'].includes(s.kind))).toEqual([]);
  });
});
