import { afterEach, describe, expect, it } from 'vitest';
import type { SimAgent, SimExecution } from '../sim/sim-agent.ts';
import { type SimCoordinator, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { enrollSimAgents, simClusterSpec, simScript, stopSimFleet } from '../sim/sim-fleet.ts';
import { waitFor } from '../support/wait-for.ts';

let sim: SimCoordinator | undefined;
const agents: SimAgent[] = [];

afterEach(async () => {
  await stopSimFleet(agents, sim);
  sim = undefined;
});

interface RunEventView {
  message: string;
}

describe('an enrolled agent that claims another node', () => {
  it("GIVEN cp1 and w1 enrolled with node-scoped tokens and a rogue agent listing cp1's address WHEN deployed THEN the rogue gets nothing of cp1's, the honest agents keep their steps, and the claim is reported", async () => {
    sim = await startSimCoordinator();
    const s = sim;
    const { spec, nodes } = simClusterSpec({ name: 'rogue-a', controlPlanes: 1, workers: 1 });
    const executions: SimExecution[] = [];
    const script = simScript({});
    const enroll = async (node: (typeof nodes)[number], tokenBody: Record<string, unknown>) => {
      const { token } = await s.api.request<{ token: string }>('POST', '/v1/tokens', tokenBody);
      const [agent] = await enrollSimAgents({
        coordinator: s.grpcAddress,
        caPem: s.coordinator.caCertificatePem,
        token,
        nodes: [node],
        script,
        executions,
      });
      return agent!;
    };
    for (const node of nodes) agents.push(await enroll(node, { node: node.name }));
    for (const a of agents) a.start();
    await waitFor(
      'the honest agents to connect',
      async () => agents.every((a) => a.connected) || undefined,
      10_000,
      20,
    );

    // A rogue host, enrolled with a valid (unscoped) token, lists cp1's address in its Hello facts and connects last.
    const cp1 = nodes.find((n) => n.name === 'cp1')!;
    const rogue = await enroll({ name: 'rogue', address: cp1.address, role: 'worker' }, {});
    agents.push(rogue);
    rogue.start();
    await waitFor('the rogue agent to connect', async () => rogue.connected || undefined, 10_000, 20);

    await s.api.request('POST', '/v1/clusters', spec);
    const run = await s.api.request<{ id: string }>('POST', '/v1/clusters/rogue-a/runs', { kind: 'deploy' });
    const done = await waitForRunEnd(s.api, run.id);

    expect(done.state).toBe('succeeded');
    expect(executions.filter((e) => e.node === 'rogue')).toEqual([]);
    expect(rogue.phases).toEqual([]);
    const init = executions.find((e) => e.kind === 'kubeadm-init');
    expect(init?.node).toBe('cp1');
    expect(executions.filter((e) => e.kind === 'load-balancer').map((e) => e.node)).toEqual(['cp1']);
    expect(executions.some((e) => e.node === 'w1' && e.kind === 'kubeadm-join')).toBe(true);

    const events: RunEventView[] = [];
    const view = await s.api.request<{ steps: unknown[] }>('GET', `/v1/runs/${run.id}`);
    expect(view.steps.length).toBeGreaterThan(0);
    for (const event of s.coordinator.store.events.after(run.id, 0, 10_000)) events.push(event);
    const honest = agents.find((a) => a.options.node === 'cp1')!;
    expect(events.map((e) => e.message)).toContainEqual(
      `warning: agent ${rogue.options.agentId} (rogue) reports ${cp1.address} of node cp1, which is bound to agent ${honest.options.agentId}: refused, nothing of cp1's is sent to it`,
    );
    expect(s.logs.join('')).toContain(`"agentId":"${rogue.options.agentId}"`);
    expect(s.coordinator.store.bindings.list('rogue-a')).toEqual([
      { node: 'cp1', agentId: honest.options.agentId, boundAt: expect.any(Number) },
      {
        node: 'w1',
        agentId: agents.find((a) => a.options.node === 'w1')!.options.agentId,
        boundAt: expect.any(Number),
      },
    ]);
  });

  it('GIVEN a bound agent WHEN revoked THEN its binding is gone everywhere and another agent approved for the node serves it', async () => {
    sim = await startSimCoordinator();
    const s = sim;
    const { spec, nodes } = simClusterSpec({ name: 'rogue-b', controlPlanes: 1, workers: 0 });
    const executions: SimExecution[] = [];
    const enrollOne = async () => {
      const { token } = await s.api.request<{ token: string }>('POST', '/v1/tokens', { node: 'cp1' });
      const [agent] = await enrollSimAgents({
        coordinator: s.grpcAddress,
        caPem: s.coordinator.caCertificatePem,
        token,
        nodes,
        script: simScript({}),
        executions,
      });
      agents.push(agent!);
      agent!.start();
      await waitFor('the agent to connect', async () => agent!.connected || undefined, 10_000, 20);
      return agent!;
    };
    const first = await enrollOne();
    await s.api.request('POST', '/v1/clusters', spec);
    const run1 = await s.api.request<{ id: string }>('POST', '/v1/clusters/rogue-b/runs', { kind: 'deploy' });
    expect((await waitForRunEnd(s.api, run1.id)).state).toBe('succeeded');
    expect(s.coordinator.store.bindings.list('rogue-b').map((b) => b.agentId)).toEqual([first.options.agentId]);

    await s.api.request('DELETE', `/v1/agents/${first.options.agentId}`);
    expect(s.coordinator.store.bindings.list('rogue-b')).toEqual([]);
    const second = await enrollOne();
    const before = executions.length;
    const run2 = await s.api.request<{ id: string }>('POST', '/v1/clusters/rogue-b/runs', { kind: 'verify' });
    expect((await waitForRunEnd(s.api, run2.id)).state).toBe('succeeded');
    expect(executions.slice(before).every((e) => e.node === 'cp1')).toBe(true);
    expect(s.coordinator.store.bindings.list('rogue-b').map((b) => b.agentId)).toEqual([second.options.agentId]);
  });
});
