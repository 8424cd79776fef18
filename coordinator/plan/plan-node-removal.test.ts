import { describe, expect, it } from 'vitest';
import { testSpec } from '../../test/support/test-spec.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { topologicalOrder } from './critical-path.ts';
import { etcdQuorum, removalRefusals } from './plan-node-removal.ts';
import { planRun } from './plan-run.ts';
import type { ClusterState, PlannedStep, RunPlan } from './run-plan.ts';
import { unsupportedChanges } from './spec-changes.ts';

type Node = { name: string; address: string; role: string };
const cp = (n: number, address = `10.0.0.${10 + n}`): Node => ({ name: `cp${n}`, address, role: 'control-plane' });
const w = (n: number): Node => ({ name: `w${n}`, address: `10.0.0.${20 + n}`, role: 'worker' });

function spec(nodes: Node[]): ClusterSpec {
  return testSpec({ nodes, allowEvenControlPlanes: true });
}

/** A deployed cluster of three control planes and two workers, every node a member. */
const applied = spec([cp(1), cp(2), cp(3), w(1), w(2)]);
const state = (dead: string[] = [], members = ['cp1', 'cp2', 'cp3', 'w1', 'w2']): ClusterState => ({
  members,
  applied,
  dead,
});

function step(plan: RunPlan, id: string): PlannedStep {
  const found = plan.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id} in ${plan.steps.map((s) => s.id).join(' ')}`);
  return found;
}

function ancestorsOf(plan: RunPlan, id: string): Set<string> {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const stack = [...byId.get(id)!.dependsOn];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...byId.get(next)!.dependsOn);
  }
  return seen;
}

const phasesOf = (plan: RunPlan) => new Set(plan.steps.map((s) => s.phase));
const removalPhases = ['leave-load-balancer', 'drain-node', 'remove-etcd-member', 'delete-node', 'reset'];

/** The load-balancer steps in the order their dependencies force (each waits for the one before). */
function loadBalancerChain(plan: RunPlan): string[] {
  const lbs = plan.steps.filter((s) => s.phase === 'load-balancer');
  return lbs
    .map((s) => ({
      id: s.id,
      depth: [...ancestorsOf(plan, s.id)].filter((a) => a.startsWith('load-balancer/')).length,
    }))
    .sort((a, b) => a.depth - b.depth)
    .map((s) => s.id);
}

function expectValidDag(plan: RunPlan): void {
  const ids = plan.steps.map((s) => s.id);
  expect(new Set(ids).size, 'ids are unique').toBe(ids.length);
  expect(topologicalOrder(plan)).toHaveLength(plan.steps.length);
}

describe('a deploy of a changed spec on a running cluster', () => {
  it('GIVEN nothing changed THEN no node joins or leaves and the load balancers are not ordered', () => {
    const plan = planRun('deploy', applied, state());
    expectValidDag(plan);
    for (const phase of [...removalPhases, 'join-control-plane', 'join-worker']) {
      expect(phasesOf(plan).has(phase as never), phase).toBe(false);
    }
    // Every step left is one that checks the node and changes only what differs: kubeadm init on a member is a no-op.
    expect(step(plan, 'kubeadm-init/cp1').node).toBe('cp1');
    for (const lb of plan.steps.filter((s) => s.phase === 'load-balancer')) {
      expect(
        lb.dependsOn.some((d) => d.startsWith('load-balancer/')),
        lb.id,
      ).toBe(false);
    }
  });

  it('GIVEN a worker added THEN only it joins, after kubeadm init on the member, and nothing is removed', () => {
    const plan = planRun('deploy', spec([cp(1), cp(2), cp(3), w(1), w(2), w(3)]), state());
    expectValidDag(plan);
    expect(plan.steps.filter((s) => s.phase.startsWith('join-')).map((s) => s.id)).toEqual(['join-worker/w3']);
    for (const phase of removalPhases) expect(phasesOf(plan).has(phase as never), phase).toBe(false);
    expect(ancestorsOf(plan, 'verify/cp1').has('join-worker/w3')).toBe(true);
  });

  it('GIVEN a worker removed THEN it is drained from a control plane, its Node deleted, then reset on it (best effort)', () => {
    const plan = planRun('deploy', spec([cp(1), cp(2), cp(3), w(1)]), state());
    expectValidDag(plan);
    expect(step(plan, 'drain-node/w2')).toMatchObject({
      kind: 'drain-node',
      node: 'cp1',
      params: { nodeName: 'w2', timeoutSeconds: 300, dead: false },
      retry: { maxAttempts: 1 },
    });
    expect(step(plan, 'drain-node/w2').dependsOn).toContain('kubeadm-init/cp1');
    expect(step(plan, 'delete-node/w2')).toMatchObject({ node: 'cp1', dependsOn: ['drain-node/w2'] });
    expect(step(plan, 'reset/w2')).toMatchObject({
      kind: 'kubeadm-reset',
      node: 'w2',
      dependsOn: ['delete-node/w2'],
      bestEffort: true,
    });
    expect(phasesOf(plan).has('remove-etcd-member')).toBe(false);
    expect(phasesOf(plan).has('leave-load-balancer')).toBe(false);
    expect(ancestorsOf(plan, 'verify/cp1').has('delete-node/w2')).toBe(true);
    // The control-plane set did not change: the load balancers are configured as before, not one at a time.
    expect(
      plan.steps.filter((s) => s.phase === 'load-balancer' && s.dependsOn.some((d) => d.startsWith('load'))),
    ).toEqual([]);
  });

  it('GIVEN a control plane removed THEN it leaves the load balancer, the others take the new set lowest priority first, then drain, etcd member, Node, reset', () => {
    const plan = planRun('deploy', spec([cp(1), cp(2), w(1), w(2)]), state());
    expectValidDag(plan);
    expect(step(plan, 'leave-load-balancer/cp3')).toMatchObject({
      node: 'cp3',
      params: { vip: '10.0.0.100' },
      dependsOn: ['cross-node-checks'],
    });
    // cp2 has priority 219, cp1 220: cp1, the likely VIP holder, goes last.
    expect(loadBalancerChain(plan)).toEqual(['load-balancer/cp2', 'load-balancer/cp1']);
    expect(step(plan, 'load-balancer/cp2').dependsOn).toContain('leave-load-balancer/cp3');
    expect(step(plan, 'load-balancer/cp1').dependsOn).toContain('load-balancer/cp2');
    expect(step(plan, 'load-balancer/cp1').params).toMatchObject({
      backends: [
        { name: 'cp1', address: '10.0.0.11', role: 'control-plane' },
        { name: 'cp2', address: '10.0.0.12', role: 'control-plane' },
      ],
      unicastPeers: ['10.0.0.12'],
      priority: 220,
    });
    const drain = ancestorsOf(plan, 'drain-node/cp3');
    expect(drain.has('load-balancer/cp1') && drain.has('leave-load-balancer/cp3')).toBe(true);
    expect(step(plan, 'remove-etcd-member/cp3')).toMatchObject({
      node: 'cp1',
      dependsOn: ['drain-node/cp3'],
      params: { memberName: 'cp3', memberPeerUrl: 'https://10.0.0.13:2380' },
    });
    expect(step(plan, 'delete-node/cp3').dependsOn).toEqual(['remove-etcd-member/cp3']);
    expect(step(plan, 'reset/cp3')).toMatchObject({ node: 'cp3', bestEffort: true, dependsOn: ['delete-node/cp3'] });
  });

  it('GIVEN a control plane replaced by a new one THEN the old one is removed before the new one joins', () => {
    const plan = planRun('deploy', spec([cp(1), cp(2), cp(4), w(1), w(2)]), state());
    expectValidDag(plan);
    expect(plan.steps.filter((s) => s.phase.startsWith('join-')).map((s) => s.id)).toEqual(['join-control-plane/cp4']);
    expect(ancestorsOf(plan, 'join-control-plane/cp4').has('delete-node/cp3')).toBe(true);
    // The new holder has the lowest priority: it is configured first, the init node last.
    expect(loadBalancerChain(plan)).toEqual(['load-balancer/cp4', 'load-balancer/cp2', 'load-balancer/cp1']);
    expect(step(plan, 'load-balancer/cp2').params['unicastPeers']).toEqual(['10.0.0.11', '10.0.0.14']);
  });

  it('GIVEN a dead control plane replaced under its name and a new address THEN nothing runs on the old machine and the new one joins after the removal', () => {
    const plan = planRun('deploy', spec([cp(1), cp(2), cp(3, '10.0.0.33'), w(1), w(2)]), state(['cp3']));
    expectValidDag(plan);
    expect(phasesOf(plan).has('leave-load-balancer')).toBe(false);
    expect(plan.steps.some((s) => s.id === 'reset/cp3')).toBe(false);
    expect(step(plan, 'drain-node/cp3').params).toMatchObject({ nodeName: 'cp3', dead: true });
    // The member is found by the address it had.
    expect(step(plan, 'remove-etcd-member/cp3').params['memberPeerUrl']).toBe('https://10.0.0.13:2380');
    expect(step(plan, 'join-control-plane/cp3').params).toMatchObject({ advertiseAddress: '10.0.0.33' });
    expect(ancestorsOf(plan, 'join-control-plane/cp3').has('delete-node/cp3')).toBe(true);
    // Every step on cp3 is the new machine's (preparation, load balancer, join), none precedes the removal's end
    // except what only reads or prepares it.
    for (const s of plan.steps.filter((x) => x.node === 'cp3')) {
      expect([
        'preflight',
        'host-prep',
        'container-runtime',
        'kube-packages',
        'load-balancer',
        'join-control-plane',
      ]).toContain(s.phase);
    }
  });

  it('GIVEN a dead worker removed THEN it is only cordoned and deleted from a control plane, nothing runs on it', () => {
    const plan = planRun('deploy', spec([cp(1), cp(2), cp(3), w(1)]), state(['w2']));
    expect(step(plan, 'drain-node/w2').params).toMatchObject({ dead: true });
    expect(plan.steps.filter((s) => s.node === 'w2')).toEqual([]);
  });

  it('GIVEN the init node removed THEN kubeadm init (a no-op on a member) and the removal run on the next member control plane', () => {
    const plan = planRun('deploy', spec([cp(2), cp(3), cp(4), w(1), w(2)]), state());
    expectValidDag(plan);
    expect(plan.steps.filter((s) => s.phase === 'kubeadm-init').map((s) => s.id)).toEqual(['kubeadm-init/cp2']);
    expect(step(plan, 'drain-node/cp1').node).toBe('cp2');
    expect(step(plan, 'remove-etcd-member/cp1').node).toBe('cp2');
    expect(plan.steps.filter((s) => s.phase === 'join-control-plane').map((s) => s.id)).toEqual([
      'join-control-plane/cp4',
    ]);
    expect(step(plan, 'verify/cp2')).toBeDefined();
  });

  it('GIVEN a control plane and a worker removed THEN the removals run one after the other, control planes first', () => {
    const plan = planRun('deploy', spec([cp(1), cp(2), w(1)]), state());
    expect(step(plan, 'drain-node/w2').dependsOn).toContain('delete-node/cp3');
  });

  it('GIVEN a plan run of the change THEN the removal steps are dry runs too', () => {
    const plan = planRun('plan', spec([cp(1), cp(2), w(1), w(2)]), state());
    expect(step(plan, 'drain-node/cp3')).toMatchObject({ bestEffort: true, dependsOn: ['cross-node-checks'] });
  });
});

describe('removals a deploy refuses', () => {
  it('GIVEN the only control plane replaced THEN refused: none would stay to remove it through', () => {
    const one = testSpec({ nodes: [cp(1), w(1)] });
    const problems = removalRefusals({ members: ['cp1', 'w1'], applied: one }, testSpec({ nodes: [cp(2), w(1)] }));
    expect(problems).toEqual([
      "removing cp1 would leave no control plane of the cluster's 1: at least one must stay to remove the others through (a replacement joins through it afterwards)",
    ]);
  });

  it('GIVEN two of three control planes removed at once THEN refused with the numbers', () => {
    const problems = removalRefusals(state(), spec([cp(1), cp(4), cp(5), w(1), w(2)]));
    expect(problems).toEqual([
      "removing 2 of the 3 control planes (cp2, cp3) would leave 1, fewer than the 2 that etcd's 3 members need for quorum: remove them in separate runs, each after a replacement has joined",
    ]);
  });

  it('GIVEN two of five control planes removed THEN allowed: three of five keep quorum', () => {
    const five = spec([cp(1), cp(2), cp(3), cp(4), cp(5), w(1)]);
    const members = ['cp1', 'cp2', 'cp3', 'cp4', 'cp5', 'w1'];
    expect(etcdQuorum(5)).toBe(3);
    expect(removalRefusals({ members, applied: five }, spec([cp(1), cp(2), cp(3), w(1)]))).toEqual([]);
  });

  it('GIVEN a live node given a new address THEN refused, naming the way to replace it', () => {
    const problems = removalRefusals(state(), spec([cp(1), cp(2), cp(3, '10.0.0.33'), w(1), w(2)]));
    expect(problems).toEqual([
      'spec.nodes[cp3].address: 10.0.0.13 -> 10.0.0.33 cannot change on a deployed node (to replace the machine: kubeha apply --dead-node cp3 when it is gone, or kubeha node remove first)',
    ]);
    expect(removalRefusals(state(['cp3']), spec([cp(1), cp(2), cp(3, '10.0.0.33'), w(1), w(2)]))).toEqual([]);
  });

  it('GIVEN a node marked dead that the applied spec does not have THEN refused', () => {
    expect(removalRefusals(state(['w9']), applied)).toEqual([
      'node(s) w9 are marked dead but are not nodes of the applied spec: only a deployed node can be removed',
    ]);
  });

  it('GIVEN a member no successful deploy recorded, left out of the spec THEN refused: its address is unknown', () => {
    expect(unsupportedChanges(null, testSpec({ nodes: [cp(1)] }), ['cp1', 'w1'])).toEqual([
      'node(s) w1 joined the cluster but no successful deploy recorded them, so kubeha does not know how to remove them: put them back in the spec and deploy, then remove them',
    ]);
  });

  it('GIVEN every dedicated load-balancer node removed THEN refused: the VIP would move onto the control planes', () => {
    const lb = (n: number): Node => ({ name: `lb${n}`, address: `10.0.0.${n}`, role: 'load-balancer' });
    const withLbs = spec([lb(1), lb(2), cp(1), w(1)]);
    const problems = removalRefusals({ members: ['cp1', 'w1'], applied: withLbs }, spec([cp(1), w(1)]));
    expect(problems).toEqual([
      'removing every load-balancer node (lb1, lb2) would move the VIP onto the control planes, which a running cluster cannot take: keep at least one',
    ]);
    const three = spec([lb(1), lb(2), lb(3), cp(1), w(1)]);
    expect(removalRefusals({ members: ['cp1', 'w1'], applied: three }, spec([lb(1), lb(2), cp(1), w(1)]))).toEqual([]);
  });
});

describe('planRun deploy with agents away', () => {
  it('GIVEN cp2 and w1 away while cp3 is replaced by cp4 WHEN planned THEN they are left out; the others run, cp2 still a peer and backend', () => {
    const desired = spec([cp(1), cp(2), cp(4), w(1), w(2)]);
    const plan = planRun('deploy', desired, { ...state(), away: ['cp2', 'w1'] });
    expect(plan.steps.filter((s) => s.node === 'cp2' || s.node === 'w1').map((s) => s.id)).toEqual([]);
    expect(step(plan, 'cross-node-checks').params['nodes']).toEqual(['cp1', 'cp4', 'w2']);
    expect(plan.steps.filter((s) => s.kind === 'load-balancer').map((s) => s.id)).toEqual([
      'load-balancer/cp4',
      'load-balancer/cp1',
    ]);
    expect(step(plan, 'load-balancer/cp1').params['unicastPeers']).toEqual(['10.0.0.12', '10.0.0.14']);
    expect(step(plan, 'remove-etcd-member/cp3').node).toBe('cp1');
  });

  it('GIVEN the first member, a node leaving, or a new node away WHEN planned THEN they are not left out', () => {
    const desired = spec([cp(1), cp(2), cp(4), w(1)]);
    const plan = planRun('deploy', desired, { ...state(), away: ['cp1', 'cp3', 'cp4', 'w2'] });
    for (const id of ['preflight/cp1', 'load-balancer/cp1', 'preflight/cp4', 'join-control-plane/cp4', 'drain-node/w2'])
      expect(step(plan, id)).toBeDefined();
    expect(step(plan, 'cross-node-checks').params['nodes']).toEqual(['cp1', 'cp2', 'cp4', 'w1']);
  });
});
