import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { requireClusterSpec } from '../cluster-spec/parse-cluster-spec.ts';
import { expectedLoadBalancerPositions } from '../plan/load-balancer-position.ts';
import { planRun } from '../plan/plan-run.ts';
import type { RunKind } from '../plan/run-plan.ts';
import { valueNames } from '../scheduler/cluster-values.ts';
import type { AgentRecord, ClusterRecord, ClusterValue, RunRecord } from '../store/store.ts';
import { LoadBalancerDrift, reconcileRetryMs } from './load-balancer-drift.ts';

const nodes = {
  cp1: '10.0.0.11',
  cp2: '10.0.0.12',
  cp3: '10.0.0.13',
  cp4: '10.0.0.14',
} as const;

function specWith(controlPlanes: (keyof typeof nodes)[]): ClusterSpec {
  return requireClusterSpec({
    apiVersion: 'kubeha.io/v1',
    kind: 'Cluster',
    metadata: { name: 'lab' },
    spec: {
      kubernetesVersion: '1.34.4',
      endpoint: { vip: '10.0.0.100', interface: 'eth0' },
      nodes: controlPlanes.map((name) => ({ name, address: nodes[name], role: 'control-plane' })),
    },
  });
}

function agent(name: keyof typeof nodes, connected: boolean): AgentRecord {
  return {
    id: `agent-${name}`,
    hostname: name,
    agentVersion: '0',
    facts: {
      hostname: name,
      interfaces: [{ name: 'eth0', mac: '', addresses: [`${nodes[name]}/24`], virtual: false }],
    } as never,
    certificateSerial: '1',
    enrolledAt: 1,
    enrolledWithTokenId: 't',
    revokedAt: null,
    connected,
    lastHeartbeatAt: null,
    holdsVip: false,
    health: null,
  };
}

/** A cluster at rest on `applied`, its recorded positions, its agents, and a run starter that records what it was asked. */
function world(applied: ClusterSpec, recorded: Partial<Record<keyof typeof nodes, ClusterSpec>>) {
  const state = {
    now: 1_000_000,
    cluster: {
      name: 'lab',
      spec: applied,
      appliedSpec: applied,
      appliedAt: 1,
      createdAt: 1,
      updatedAt: 1,
      initializedAt: 1,
    } as ClusterRecord,
    values: new Map<string, ClusterValue>(),
    agents: (Object.keys(nodes) as (keyof typeof nodes)[]).map((n) => agent(n, true)),
    busy: undefined as string | undefined,
    started: [] as { kind: RunKind; reason: string }[],
  };
  for (const [node, spec] of Object.entries(recorded)) {
    const position = expectedLoadBalancerPositions(spec!).get(node)!;
    state.values.set(valueNames.loadBalancerPosition(node), { value: position, secret: false, updatedAt: 1 });
  }
  const drift = new LoadBalancerDrift({
    store: {
      clusters: { get: () => state.cluster, list: () => [state.cluster] } as never,
      clusterValues: { get: (_cluster: string, name: string) => state.values.get(name) } as never,
      agents: { list: () => state.agents } as never,
    },
    runs: {
      activeRunOf: () => state.busy,
      startRun(cluster: string, kind: RunKind, options: { startedBecause: string }): RunRecord {
        state.started.push({ kind, reason: options.startedBecause });
        return {
          id: `run-${state.started.length}`,
          cluster,
          kind,
          state: 'running',
          createdAt: state.now,
          finishedAt: null,
          error: null,
        };
      },
    },
    logger: createLogger({ name: 'test', level: 'silent' }),
    now: () => state.now,
  });
  return { state, drift };
}

const before = specWith(['cp1', 'cp2', 'cp3']);
const after = specWith(['cp1', 'cp2', 'cp4']);

describe('LoadBalancerDrift', () => {
  it('GIVEN every node recorded with the applied spec WHEN looked at THEN nothing drifted, no run', () => {
    const { drift, state } = world(after, { cp1: after, cp2: after, cp4: after });
    expect(drift.driftedNodes('lab')).toEqual([]);
    expect(drift.tick()).toEqual([]);
    expect(state.started).toEqual([]);
  });

  it('GIVEN cp2 still configured for cp3 WHEN its agent is connected THEN one reconcile run, saying what differs', () => {
    const { drift, state } = world(after, { cp1: after, cp2: before, cp4: after });
    expect(drift.driftedNodes('lab').map((d) => d.node)).toEqual(['cp2']);
    expect(drift.tick()).toEqual(['run-1']);
    expect(state.started).toEqual([
      {
        kind: 'load-balancer-reconcile',
        reason:
          'the load balancer on cp2 is behind the cluster (it has backends cp1, cp2, cp3; unicast peers 10.0.0.11, ' +
          '10.0.0.13; the cluster has backends cp1, cp2, cp4; unicast peers 10.0.0.11, 10.0.0.14) and its agent is connected',
      },
    ]);
  });

  it('GIVEN the drifted node away, a run going on, or a change in progress WHEN looked at THEN no run until it is at rest and back', () => {
    const { drift, state } = world(after, { cp1: after, cp2: before, cp4: after });
    state.agents = state.agents.map((a) => (a.hostname === 'cp2' ? { ...a, connected: false } : a));
    expect(drift.tick()).toEqual([]);
    state.agents = state.agents.map((a) => ({ ...a, connected: true }));
    state.busy = 'run-other';
    expect(drift.tick()).toEqual([]);
    state.busy = undefined;
    state.cluster = { ...state.cluster, spec: specWith(['cp1', 'cp2', 'cp3']) };
    expect(drift.driftedNodes('lab')).toEqual([]);
    expect(drift.tick()).toEqual([]);
    state.cluster = { ...state.cluster, spec: after };
    expect(drift.tick()).toEqual(['run-1']);
  });

  it('GIVEN a reconcile that left the node behind WHEN looked at again THEN not started again before the retry interval', () => {
    const { drift, state } = world(after, { cp1: after, cp2: before, cp4: after });
    expect(drift.tick()).toHaveLength(1);
    state.now += reconcileRetryMs - 1;
    expect(drift.tick()).toEqual([]);
    state.now += 1;
    expect(drift.tick()).toEqual(['run-2']);
  });

  it('GIVEN a node with no recorded position (configured before positions were recorded) WHEN looked at THEN not drifted', () => {
    const { drift } = world(after, { cp1: after });
    expect(drift.driftedNodes('lab')).toEqual([]);
  });
});

describe('planRun load-balancer-reconcile', () => {
  it('GIVEN every agent well WHEN planned THEN each keepalived node once, lowest priority first, in a chain', () => {
    const plan = planRun('load-balancer-reconcile', after, { members: ['cp1', 'cp2', 'cp4'] });
    expect(plan.steps.map((s) => [s.id, s.dependsOn])).toEqual([
      ['load-balancer/cp4', []],
      ['load-balancer/cp2', ['load-balancer/cp4']],
      ['load-balancer/cp1', ['load-balancer/cp2']],
    ]);
    expect(plan.steps[1]!.params).toMatchObject({ unicastPeers: ['10.0.0.11', '10.0.0.14'] });
  });

  it('GIVEN an agent away WHEN planned THEN its node is left out; with none well THEN refused naming them', () => {
    expect(
      planRun('load-balancer-reconcile', after, { members: [], healthy: ['cp1', 'cp2'] }).steps.map((s) => s.node),
    ).toEqual(['cp2', 'cp1']);
    expect(() => planRun('load-balancer-reconcile', after, { members: [], healthy: [] })).toThrow(
      'no node running keepalived in cluster lab has a connected, healthy agent (cp1, cp2, cp4)',
    );
  });
});
