import { describe, expect, it } from 'vitest';
import { startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript, startSimFleet } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';

const t = simFleetPerTest();

describe("the cluster's secrets at rest", () => {
  it('GIVEN a deploy run WHEN it succeeded THEN no join token and no init token is left in the store; the token ids remain', async () => {
    t.sim = await startSimCoordinator();
    const fleet = await startSimFleet(t.sim, { name: 'rest-a', controlPlanes: 3, workers: 1, script: simScript({}) });
    t.agents = fleet.agents;
    await t.sim.api.request('POST', '/v1/clusters', fleet.spec);
    const run = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/rest-a/runs', { kind: 'deploy' });
    expect((await waitForRunEnd(t.sim.api, run.id)).state).toBe('succeeded');

    const values = t.sim.coordinator.store.clusterValues.all('rest-a');
    const names = [...values.keys()].sort();
    expect(names.filter((n) => n.startsWith('join-token/'))).toEqual([]);
    expect(names).not.toContain('init-token');
    // What stays: the certificate key for later control-plane joins, the load balancers' auth_pass, the admin kubeconfig.
    expect(names.filter((n) => values.get(n)?.secret)).toEqual(['auth-pass', 'certificate-key', 'kubeconfig']);
    const joinTokens = fleet.executions
      .filter((e) => e.kind === 'kubeadm-join')
      .map((e) => String(e.params['bootstrapToken']));
    expect(joinTokens).toHaveLength(3);
    const stored = JSON.stringify([...values.values()]);
    for (const token of joinTokens) expect(stored).not.toContain(token.slice(7));
  });
});
