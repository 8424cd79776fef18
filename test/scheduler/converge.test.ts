import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { refusal } from '../sim/api-refusal.ts';
import type { SimStep } from '../sim/sim-agent.ts';
import { type SimCoordinator, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript, startSimFleet } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { runKubehaCli } from '../support/run-command.ts';

const t = simFleetPerTest();

/**
 * Simulated machines that remember what was done to them: a second run of the same step finds nothing to do
 * (changed: false), and preflight on a node that ran kubeadm init or join fails unless told it is a member, as the
 * real preflight does when it finds the node's ports and kubelet.conf taken.
 */
function machines() {
  const done = new Set<string>();
  const members = new Set<string>();
  const script = simScript({ default: 5 }, (step: SimStep) => {
    const key = `${step.node} ${step.stepId.replace(/\/create-token\/.*$/, '/create-token')}`;
    if (step.kind === 'preflight' && members.has(step.node) && step.params['alreadyMember'] !== true) {
      return { outcome: 'fail', deterministic: true };
    }
    const changed = !done.has(key) && step.kind !== 'preflight' && step.kind !== 'verify';
    done.add(key);
    if (step.kind === 'kubeadm-init' || step.kind === 'kubeadm-join') members.add(step.node);
    return { changed };
  });
  return { script, members };
}

async function deploy(api: SimCoordinator['api'], spec: unknown, name: string) {
  await api.request('PUT', `/v1/clusters/${name}`, spec);
  const run = await api.request<{ id: string }>('POST', `/v1/clusters/${name}/runs`, { kind: 'deploy' });
  return waitForRunEnd(api, run.id);
}

function runEvents(runId: string) {
  return t.sim!.coordinator.store.events.after(runId, 0);
}

type SimSpec = Awaited<ReturnType<typeof startSimFleet>>['spec'];

/** Stores the spec with one more worker, then asks for a deploy of it: the refusal. */
async function deployRefusedWithWorker(spec: SimSpec, worker: { name: string; address: string }) {
  const bigger = structuredClone(spec);
  bigger.spec.nodes.push({ ...worker, role: 'worker' });
  const name = spec.metadata.name;
  await t.sim!.api.request('PUT', `/v1/clusters/${name}`, bigger);
  return refusal(t.sim!.api.request('POST', `/v1/clusters/${name}/runs`, { kind: 'deploy' }));
}

describe('re-applying a spec to a deployed cluster', () => {
  it('GIVEN a deployed cluster WHEN the same spec is applied again THEN the deploy ends "up to date": members are not joined again and no step changed anything', async () => {
    t.sim = await startSimCoordinator();
    const { script, members } = machines();
    const fleet = await startSimFleet(t.sim, { name: 'conv', controlPlanes: 3, workers: 2, script });
    t.agents = fleet.agents;
    const first = await deploy(t.sim.api, fleet.spec, 'conv');
    expect(first.state).toBe('succeeded');
    expect([...members].sort()).toEqual(['cp1', 'cp2', 'cp3', 'w1', 'w2']);
    const executedBefore = fleet.executions.length;

    // WHEN the same spec is applied again
    const second = await deploy(t.sim.api, fleet.spec, 'conv');

    // THEN it succeeded, every node was told it is a member, and nothing joined or made join credentials
    expect(second.state, JSON.stringify(second.steps.filter((s) => s.error))).toBe('succeeded');
    const again = fleet.executions.slice(executedBefore);
    const preflights = again.filter((e) => e.kind === 'preflight');
    expect(preflights).toHaveLength(5);
    for (const p of preflights) expect(p.params['alreadyMember']).toBe(true);
    expect(second.steps.map((s) => s.kind)).not.toContain('kubeadm-join');
    expect(second.steps.map((s) => s.kind)).not.toContain('join-credentials');
    expect(second.steps.map((s) => s.kind)).not.toContain('kubeadm-reset');
    // AND no step changed anything, and the run says so
    const detail = await t.sim.api.request<{ steps: { id: string; changed: boolean }[] }>(
      'GET',
      `/v1/runs/${second.id}`,
    );
    expect(detail.steps.filter((s) => s.changed).map((s) => s.id)).toEqual([]);
    expect(runEvents(second.id).at(-1)).toMatchObject({
      type: 'run',
      state: 'succeeded',
      message: 'deploy run succeeded: up to date, nothing changed on any node',
    });
  });

  it('GIVEN a deployed cluster WHEN a spec adding a node no agent serves is applied THEN the deploy is refused naming the node, the applied spec stays and verify works from it', async () => {
    t.sim = await startSimCoordinator();
    const { script } = machines();
    const fleet = await startSimFleet(t.sim, { name: 'grow', controlPlanes: 1, workers: 1, script });
    t.agents = fleet.agents;
    expect((await deploy(t.sim.api, fleet.spec, 'grow')).state).toBe('succeeded');

    // WHEN a spec with a third node is applied
    const refused = await deployRefusedWithWorker(fleet.spec, { name: 'w3', address: '10.10.1.3/16' });

    // THEN the deploy is refused, naming the node and why
    expect(refused.status).toBe(409);
    expect(refused.message).toContain('w3');
    expect(refused.message).toContain('no enrolled agent reports 10.10.1.3 (w3)');
    // AND the cluster shows the desired and the applied spec and where they differ
    const cluster = await t.sim.api.request<{
      spec: { spec: { nodes: unknown[] } };
      appliedSpec: { spec: { nodes: { name: string }[] } } | null;
      differences: { path: string; applied?: unknown; desired?: unknown }[];
    }>('GET', '/v1/clusters/grow');
    expect(cluster.spec.spec.nodes).toHaveLength(3);
    expect(cluster.appliedSpec?.spec.nodes.map((n) => n.name)).toEqual(['cp1', 'w1']);
    expect(cluster.differences).toEqual([
      { path: 'spec.nodes[w3]', desired: { name: 'w3', address: '10.10.1.3', prefixLength: 16, role: 'worker' } },
    ]);
    // AND `kubeha get cluster grow` prints both specs and the difference as YAML
    const printed = await runKubehaCli(t.sim.coordinator, ['get', 'cluster', 'grow', '-o', 'yaml']);
    expect(printed.code, printed.stderr).toBe(0);
    const view = parseYaml(printed.stdout) as {
      upToDate: boolean;
      differences: { path: string; applied: unknown; desired: unknown }[];
      desiredSpec: { spec: { nodes: unknown[] } };
      appliedSpec: { spec: { nodes: unknown[] } };
    };
    expect(view.upToDate).toBe(false);
    expect(view.differences.map((d) => [d.path, d.applied])).toEqual([['spec.nodes[w3]', null]]);
    expect(view.desiredSpec.spec.nodes).toHaveLength(3);
    expect(view.appliedSpec.spec.nodes).toHaveLength(2);
    // AND verify works from the applied spec: w3 is not among the nodes it checks
    const verify = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/grow/runs', { kind: 'verify' });
    const verified = await waitForRunEnd(t.sim.api, verify.id);
    expect(verified.state).toBe('succeeded');
    const verifyStep = fleet.executions.filter((e) => e.kind === 'verify').at(-1);
    expect(((verifyStep?.params['nodes'] ?? []) as { name: string }[]).map((n) => n.name)).toEqual(['cp1', 'w1']);
  });
});

describe('adding a node to a deployed cluster', () => {
  it('GIVEN a deployed cluster WHEN a spec with one more worker is applied THEN only that worker joins, through the running control plane', async () => {
    t.sim = await startSimCoordinator();
    const { script, members } = machines();
    const fleet = await startSimFleet(t.sim, { name: 'add', controlPlanes: 3, workers: 2, script });
    t.agents = fleet.agents;
    const withoutW2 = structuredClone(fleet.spec);
    withoutW2.spec.nodes = withoutW2.spec.nodes.filter((n) => n.name !== 'w2');
    expect((await deploy(t.sim.api, withoutW2, 'add')).state).toBe('succeeded');
    expect(members.has('w2')).toBe(false);

    // WHEN the spec with w2 is applied
    const grown = await deploy(t.sim.api, fleet.spec, 'add');

    // THEN w2 joined, nothing else joined or was removed, and kubeadm init (on cp1, a member) changed nothing
    expect(grown.state, JSON.stringify(grown.steps.filter((s) => s.error))).toBe('succeeded');
    expect(grown.steps.filter((s) => s.kind === 'kubeadm-join').map((s) => s.id)).toEqual(['join-worker/w2']);
    expect(grown.steps.filter((s) => ['drain-node', 'delete-node'].includes(s.kind))).toEqual([]);
    expect(members.has('w2')).toBe(true);
    const detail = await t.sim.api.request<{ steps: { id: string; changed: boolean }[] }>(
      'GET',
      `/v1/runs/${grown.id}`,
    );
    expect(detail.steps.find((s) => s.id === 'kubeadm-init/cp1')?.changed).toBe(false);
  });
});

describe('nodes without an agent', () => {
  it('GIVEN a spec naming an address no agent reports WHEN deployed THEN it is refused, and with waitForAgents the run says what it waits for and fails with that reason', async () => {
    t.sim = await startSimCoordinator({ scheduler: { agentWaitMs: 300 } });
    const fleet = await startSimFleet(t.sim, { name: 'lonely', controlPlanes: 1, workers: 1, script: simScript() });
    t.agents = fleet.agents;

    // WHEN a deploy starts without waiting for agents THEN it is refused, naming the address
    const refused = await deployRefusedWithWorker(fleet.spec, { name: 'w2', address: '10.231.0.23/16' });
    expect(refused.status).toBe(409);
    expect(refused.message).toContain('no enrolled agent reports 10.231.0.23 (w2)');

    // WHEN it starts waiting for agents THEN an event says what the run waits for, and the run fails with it
    const run = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/lonely/runs', {
      kind: 'deploy',
      waitForAgents: true,
    });
    const done = await waitForRunEnd(t.sim.api, run.id);
    expect(done.state).toBe('failed');
    expect(done.error).toContain('waiting for an agent bound to w2 (10.231.0.23)');
    expect(runEvents(run.id).map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^preflight\/w2: waiting for an agent bound to w2 \(10\.231\.0\.23\)/),
    );
  });
});

describe('one node, one cluster', () => {
  it('GIVEN a cluster WHEN a second cluster claims one of its nodes THEN the second is refused naming the first', async () => {
    t.sim = await startSimCoordinator();
    const fleet = await startSimFleet(t.sim, { name: 'first', controlPlanes: 1, workers: 1, script: simScript() });
    t.agents = fleet.agents;
    await t.sim.api.request('PUT', '/v1/clusters/first', fleet.spec);

    const other = structuredClone(fleet.spec);
    other.metadata.name = 'second';
    other.spec.endpoint.vip = '10.10.255.101';
    other.spec.nodes = [{ name: 'x1', address: fleet.spec.spec.nodes[1]!.address, role: 'control-plane' }];
    const refused = await refusal(t.sim.api.request('PUT', '/v1/clusters/second', other));

    expect(refused.status).toBe(409);
    expect(refused.message).toContain('x1 is node w1 (10.10.1.1) of cluster first');
    const { clusters } = await t.sim.api.request<{ clusters: { name: string }[] }>('GET', '/v1/clusters');
    expect(clusters.map((c) => c.name)).toEqual(['first']);
  });
});
