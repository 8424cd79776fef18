// The coordinator is not in the cluster's data path: killed (SIGKILL) and started again, the endpoint keeps
// answering, every agent reconnects on its own, and verify is green again; kubectl and etcdctl see the cluster whole.
import { expect } from 'vitest';
import type { Day2Scenario } from './day2-scenario.ts';

interface EtcdMemberJson {
  members?: { name?: string; isLearner?: boolean }[];
}

export const coordinatorCrash: Day2Scenario = {
  name: 'coordinator-crash',
  summary: 'the coordinator SIGKILLed and restarted: no /readyz gap, every agent back, verify green',
  async run(lab) {
    const nodes = lab.controlPlanes.length + lab.workers.length;
    const watch = lab.watchEndpoint();
    await new Promise((r) => setTimeout(r, 1000));
    const killedAt = Date.now();
    await lab.restartCoordinator();
    let agentsBackS = 0;
    await lab.until('every agent to reconnect', 120, async () => {
      const { agents } = (await lab.api('GET', '/v1/agents')) as { agents: { connected: boolean }[] };
      agentsBackS = (Date.now() - killedAt) / 1000;
      return agents.filter((a) => a.connected).length === nodes;
    });
    const verifyOk = await lab.cli(['verify', lab.clusterName]);
    const endpoint = watch.stop();
    const nodesJson = await lab.kubectl(['get', 'nodes', '-o', 'json']);
    if (nodesJson.code !== 0) throw new Error(`kubectl get nodes: exit ${nodesJson.code}: ${nodesJson.stderr.trim()}`);
    const members = await lab.etcdctl(['member', 'list', '-w', 'json']);
    if (members.code !== 0) throw new Error(`etcdctl member list: exit ${members.code}: ${members.stderr.trim()}`);
    const voting = ((JSON.parse(members.stdout) as EtcdMemberJson).members ?? []).filter((m) => !m.isLearner);
    return {
      nodes,
      agents_back_s: Math.round(agentsBackS * 10) / 10,
      verify_ok: verifyOk,
      readyz_longest_gap_s: endpoint.longestGapS,
      readyz_probes: endpoint.probes,
      readyz_recovered: endpoint.recovered,
      kubectl_nodes: (JSON.parse(nodesJson.stdout) as { items: unknown[] }).items.length,
      etcd_voting_members: voting.length,
    };
  },
  check(result) {
    expect(result['verify_ok']).toBe(true);
    expect(result['agents_back_s']).toBeGreaterThan(0);
    // The endpoint never depended on the coordinator: not one probe of /readyz through the VIP failed.
    expect(result['readyz_probes']).toBeGreaterThan(20);
    expect(result['readyz_longest_gap_s']).toBe(0);
    expect(result['readyz_recovered']).toBe(true);
    expect(result['kubectl_nodes']).toBe(result['nodes']);
    expect(result['etcd_voting_members']).toBe(3);
  },
};
