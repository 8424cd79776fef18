// A control plane dies and is replaced: the one holding the VIP loses its link, then every process. `kubeha node
// remove --dead` takes it out (its etcd member removed through a healthy control plane, the load balancers reconciled
// without it) while the coordinator is SIGKILLed in the middle of that run, then cp4 joins in its place with `kubeha
// apply`. etcd ends with 3 voting members, every live load balancer lists exactly the control planes, and a client on
// a worker sees /readyz through the VIP answer throughout but for the failover.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { type EtcdMember, parseMemberList } from '../../../agent/kubeadm/etcdctl.ts';
import type { LabNode } from '../lab-node.ts';
import type { Day2Lab, Day2Scenario } from './day2-scenario.ts';

interface RunJson {
  state?: string;
  steps?: { id?: string; state: string }[];
}

/** The apiserver addresses HAProxy balances over and the unicast peers keepalived sends to, on one node. */
export function loadBalancerView(haproxyCfg: string, keepalivedConf: string): { backends: string[]; peers: string[] } {
  const backends = [...haproxyCfg.matchAll(/^\s*server\s+\S+\s+(?:ipv6@)?\[?([0-9a-fA-F.:]+?)\]?:\d+\s/gm)].map(
    (m) => m[1]!,
  );
  const peerBlock = /unicast_peer\s*\{([^}]*)\}/.exec(keepalivedConf)?.[1] ?? '';
  const peers = peerBlock
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return { backends: backends.sort(), peers: peers.sort() };
}

async function startedRun(lab: Day2Lab, args: string[]): Promise<string> {
  let runId = '';
  const ok = await lab.cli(args, (line) => {
    runId = /run (\S+) started/.exec(line)?.[1] ?? runId;
  });
  if (!ok || !runId) throw new Error(`kubeha ${args.join(' ')}: no run started`);
  return runId;
}

async function runOf(lab: Day2Lab, runId: string): Promise<RunJson> {
  return (await lab.api('GET', `/v1/runs/${runId}`)) as RunJson;
}

export const nodeReplace: Day2Scenario = {
  name: 'node-replace',
  summary:
    'the VIP holder dies; node remove --dead (coordinator SIGKILLed mid-run), cp4 joins: 3 voting etcd members, load balancers list exactly the control planes, /readyz up',
  async run(lab) {
    const watch = lab.watchEndpoint();
    await new Promise((r) => setTimeout(r, 1000));
    // The control plane that holds the VIP: its death is the worst one for the endpoint (a failover with no
    // priority-0 advert, clients' neighbour caches pointing at a machine that is gone).
    const holders = lab.vipHolders();
    const dead = lab.controlPlanes.find((n) => n.name === holders[0]) ?? lab.controlPlanes.at(-1)!;
    const deadAddress = dead.address;
    const started = Date.now();
    // When each part of the replacement began, in seconds after the kill, to place an outage in it.
    const moments: Record<string, number> = {};
    const mark = (what: string) => {
      moments[what] = tenthsOfSecond(Date.now() - started);
    };
    // Every change of the VIP's holders, and of the node the watcher's neighbour entry for the VIP points at, 4 times
    // a second: an outage with the VIP in place, one while nobody holds it and one where the client still sends to a
    // former holder need different fixes.
    const holderChanges: { at_s: number; holders: string; watcher_neighbour: string }[] = [];
    const sampleHolders = setInterval(() => {
      const holders = lab.vipHolders().join('+') || 'none';
      const neighbour = lab.vipNeighbour();
      const last = holderChanges.at(-1);
      if (last?.holders !== holders || last.watcher_neighbour !== neighbour) {
        holderChanges.push({
          at_s: tenthsOfSecond(Date.now() - started),
          holders,
          watcher_neighbour: neighbour,
        });
      }
    }, 250);
    // Left running when the scenario fails half-way: it must not keep the lab's process alive.
    sampleHolders.unref();
    await lab.killNode(dead);
    mark('killed');

    const removeRun = await startedRun(lab, [
      'node',
      'remove',
      lab.clusterName,
      dead.name,
      '--dead',
      '--yes',
      '--no-watch',
    ]);
    mark('removal_started');
    // Killed once the removal proper has begun (after the nodes' checks and preparation), so that the restarted
    // coordinator resumes a run with a half-removed control plane.
    await lab.until('the removal to reach its drain or etcd step', 600, async () =>
      ((await runOf(lab, removeRun)).steps ?? []).some(
        (s) => /^(drain-node|remove-etcd-member)\//.test(s.id ?? '') && s.state !== 'pending',
      ),
    );
    lab.log('in the middle of the removal:');
    await lab.restartCoordinator();
    mark('coordinator_restarted');
    const removed = await lab.cli(['watch', removeRun]);
    mark('removed');
    const removeS = (Date.now() - started) / 1000;
    if (!removed) throw new Error(`the removal run ${removeRun} did not succeed`);
    lab.forgetNode(dead);
    const membersAfterRemoval = await etcdMembers(lab);

    const addStarted = Date.now();
    const replacement = await lab.addNode('control-plane');
    mark('replacement_enrolled');
    const spec = lab.writeSpec();
    const added = await lab.cli(['apply', '-f', spec, '--yes']);
    mark('replacement_joined');
    if (!added) throw new Error(`kubeha apply with ${replacement.name} did not succeed`);
    const addS = (Date.now() - addStarted) / 1000;
    const verifyOk = await lab.cli(['verify', lab.clusterName]);
    mark('verified');
    const endpoint = watch.stop();
    clearInterval(sampleHolders);

    const members = await etcdMembers(lab);
    const controlPlaneAddresses = lab.controlPlanes.map((n) => n.address).sort();
    const views = await Promise.all(lab.controlPlanes.map((n) => loadBalancerOf(n)));
    const nodes = await lab.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}']);
    return {
      dead: dead.name,
      vip_holders_at_kill: holders,
      vip_holders_after: lab.vipHolders(),
      replacement: replacement.name,
      remove_s: Math.round(removeS * 10) / 10,
      add_s: Math.round(addS * 10) / 10,
      replace_wall_s: Math.round(((Date.now() - started) / 1000) * 10) / 10,
      verify_ok: verifyOk,
      readyz_longest_gap_s: endpoint.longestGapS,
      readyz_failover_gap_s: longestOutageS(endpoint.outages, started, (fromS) => fromS <= failoverWindowS),
      readyz_longest_gap_after_failover_s: longestOutageS(
        endpoint.outages,
        started,
        (fromS) => fromS > failoverWindowS,
      ),
      readyz_probes: endpoint.probes,
      readyz_failed_probes: endpoint.failedProbes,
      readyz_recovered: endpoint.recovered,
      moments_s: moments,
      vip_holder_changes: holderChanges,
      readyz_outages: endpoint.outages
        .filter((o) => o.ms >= 500)
        .slice(0, 5)
        .map((o) => ({ at_s: tenthsOfSecond(o.fromMs - started), s: tenthsOfSecond(o.ms) })),
      etcd_members_after_removal: membersAfterRemoval.map((m) => m.name),
      etcd_voting_members: members.filter((m) => !m.isLearner).map((m) => m.name),
      etcd_learners: members.filter((m) => m.isLearner).length,
      dead_member_left: members.some((m) => m.peerUrls.some((u) => u.includes(`//${deadAddress}:`))),
      control_plane_addresses: controlPlaneAddresses,
      load_balancers: Object.fromEntries(lab.controlPlanes.map((n, i) => [n.name, views[i]])),
      kubernetes_nodes: nodes.stdout.trim().split(/\s+/).sort(),
    };
  },
  check(result) {
    expect(result['verify_ok']).toBe(true);
    expect(result['etcd_members_after_removal']).not.toContain(result['dead']);
    expect(result['etcd_voting_members']).toHaveLength(3);
    expect(result['etcd_voting_members']).toContain(result['replacement']);
    expect(result['etcd_learners']).toBe(0);
    expect(result['dead_member_left']).toBe(false);
    expect(result['kubernetes_nodes']).not.toContain(result['dead']);
    expect(result['kubernetes_nodes']).toContain(result['replacement']);
    const addresses = result['control_plane_addresses'] as string[];
    const views = result['load_balancers'] as Record<string, { backends: string[]; peers: string[] }>;
    for (const [node, view] of Object.entries(views)) {
      expect(view.backends, `HAProxy backends on ${node}`).toEqual(addresses);
      expect(view.peers.length, `keepalived peers on ${node}`).toBe(addresses.length - 1);
      for (const peer of view.peers) expect(addresses, `keepalived peer ${peer} on ${node}`).toContain(peer);
    }
    // The endpoint stayed up but for the failover: the holder's sudden death is noticed only when its adverts stop
    // (3 x advert_int + skew, 3.14 s at most, docs/ha-endpoint.md), plus the probes' resolution and the new holder's
    // gratuitous ARP. After it nothing of the removal or the join may take the endpoint down for more than 2 s.
    expect(result['readyz_probes']).toBeGreaterThan(100);
    expect(result['readyz_recovered']).toBe(true);
    const where = `outages (s after the kill): ${JSON.stringify(result['readyz_outages'])}; moments: ${JSON.stringify(result['moments_s'])}; VIP holders: ${JSON.stringify(result['vip_holder_changes'])}`;
    expect(result['readyz_failover_gap_s'], where).toBeLessThanOrEqual(4);
    expect(result['readyz_longest_gap_after_failover_s'], where).toBeLessThanOrEqual(2);
  },
};

/** Outages that begin this many seconds after the kill began, or earlier, are the failover's. */
const failoverWindowS = 5;

/** The longest (s) of the outages whose start, in seconds after `killMs`, `starts` accepts; 0 when none. */
export function longestOutageS(
  outages: { fromMs: number; ms: number }[],
  killMs: number,
  starts: (fromS: number) => boolean,
): number {
  const chosen = outages.filter((o) => starts((o.fromMs - killMs) / 1000)).map((o) => o.ms);
  return tenthsOfSecond(Math.max(0, ...chosen));
}

/** Milliseconds as seconds to 0.1 s. */
function tenthsOfSecond(ms: number): number {
  return Math.round(ms / 100) / 10;
}

async function etcdMembers(lab: Day2Lab): Promise<EtcdMember[]> {
  const r = await lab.etcdctl(['member', 'list', '-w', 'json']);
  if (r.code !== 0) throw new Error(`etcdctl member list: exit ${r.code}: ${r.stderr.trim()}`);
  return parseMemberList(r.stdout);
}

async function loadBalancerOf(node: LabNode): Promise<{ backends: string[]; peers: string[] }> {
  return loadBalancerView(
    readFileSync(node.hostPath('/etc/haproxy/haproxy.cfg'), 'utf8'),
    readFileSync(node.hostPath('/etc/keepalived/keepalived.conf'), 'utf8'),
  );
}
