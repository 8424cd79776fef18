import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageTypeDefinition } from '@grpc/proto-loader';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { stepRegistry } from '../../agent/steps/step-registry.ts';
import { runStepFor, stepParamsFromRunStep } from '../../proto/convert.ts';
import type { RunStep__Output } from '../../proto/generated/kubeha/v1/RunStep.ts';
import { agentProtoPath, protoLoaderOptions } from '../../proto/load-agent-gateway.ts';
import { testSpec } from '../../test/support/test-spec.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { requireClusterSpec } from '../cluster-spec/parse-cluster-spec.ts';
import type { DrillActionParams } from '../drill/drive-drill.ts';
import type { DrillAction } from '../drill/failover-drill.ts';
import { paramsForDispatch, valueChangesAfterSuccess, valueNames } from '../scheduler/cluster-values.ts';
import {
  cleanupAfterFailedControlPlaneJoin,
  joinCredentialGate,
  missingClusterSecrets,
  tokenDeletionAfterJoin,
} from '../scheduler/join-credentials.ts';
import { notStartedStep, type StepRecord } from '../store/store.ts';
import { planRun } from './plan-run.ts';
import type { ClusterState, PlannedStep, RunKind } from './run-plan.ts';

// The whole path of a step's parameters: planner (or the scheduler's run-time steps) -> the scheduler adding the
// values known only at dispatch -> the RunStep proto on the wire -> the agent's own parser for that step kind.

const definitions = protoLoader.loadSync(agentProtoPath, protoLoaderOptions);
const runStepType = definitions['kubeha.v1.RunStep'] as MessageTypeDefinition<unknown, unknown>;
const runStepCodec = runStepType.type as unknown as {
  field: { name: string; typeName: string; oneofIndex?: number }[];
};

/** The proto message's field names (camelCase) for a step kind's parameters. */
function protoFields(kind: string): string[] {
  const field = runStepCodec.field.find((f) => f.name === kind.replace(/-/g, '_'));
  if (!field) throw new Error(`RunStep has no params field for ${kind}`);
  const message = definitions[`kubeha.v1.${field.typeName}`] as MessageTypeDefinition<unknown, unknown>;
  const codec = message.type as unknown as { field: { name: string }[] };
  return codec.field.map((f) => f.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
}

/** Encodes and decodes a RunStep as the gRPC stream does, and returns what the agent's step receives. */
function overTheWire(kind: string, params: Record<string, unknown>): unknown {
  const message = runStepFor({ runId: 'r', stepId: `${kind}/n`, attempt: 1, timeoutSeconds: 60 }, kind, params);
  const codec = runStepType as unknown as { serialize(m: unknown): Buffer; deserialize(b: Buffer): RunStep__Output };
  const decoded = stepParamsFromRunStep(codec.deserialize(codec.serialize(message)));
  expect(decoded?.kind).toBe(kind);
  return decoded!.params;
}

function isDefault(value: unknown): boolean {
  return value === '' || value === 0 || value === false || (Array.isArray(value) && value.length === 0);
}

function record(step: PlannedStep, seq: number): StepRecord {
  return {
    runId: 'run-1',
    id: step.id,
    seq,
    kind: step.kind,
    node: step.node,
    dependsOn: step.dependsOn,
    timeoutSeconds: step.timeoutSeconds,
    retry: step.retry,
    params: step.params,
    concurrencyGroup: step.concurrencyGroup ?? null,
    bestEffort: false,
    forNode: null,
    ...notStartedStep(),
  };
}

/** Every step the scheduler sends for a run of this kind, with the parameters as it sends them. */
function dispatchedSteps(
  kind: RunKind,
  spec: ClusterSpec,
  state?: ClusterState,
): { id: string; kind: string; params: Record<string, unknown> }[] {
  const now = Date.UTC(2026, 0, 1);
  // The cluster's values as the scheduler makes them, then as the steps' successes change them.
  const values = new Map(missingClusterSecrets(new Map(), now));
  const etcdSnapshot = { members: spec.spec.nodes.map((n) => n.name), snapshotId: '20260101-000000-0a1b' };
  const etcdRestore = {
    members: spec.spec.nodes.map((n) => n.name),
    restore: {
      restoreId: 'run-7f3a',
      snapshotId: '20260101-000000-0a1b',
      snapshotSize: 20480,
      snapshotSha256: 'ab'.repeat(32),
      snapshotTakenAt: '2026-01-01T00:00:00.000Z',
      force: false,
    },
  };
  const ownState = kind === 'etcd-snapshot' ? etcdSnapshot : kind === 'etcd-restore' ? etcdRestore : undefined;
  const planned = planRun(kind, spec, state ?? ownState).steps;
  const steps: StepRecord[] = [];
  const sent: { id: string; kind: string; params: Record<string, unknown> }[] = [];
  const has = (id: string) => steps.some((s) => s.id === id);
  const succeed = (step: StepRecord, outputs: Record<string, string> = {}) => {
    const changes = valueChangesAfterSuccess(step, { outputs, changed: true }, values, now);
    for (const [name, value] of changes.set) values.set(name, value);
    for (const name of changes.remove) values.delete(name);
  };
  const send = (step: StepRecord) => {
    steps.push(step);
    const prepared = paramsForDispatch(step, values);
    if ('missing' in prepared) throw new Error(`${step.id}: the scheduler would wait for ${prepared.missing}`);
    sent.push({ id: step.id, kind: step.kind, params: prepared.params });
    succeed(step);
  };
  const controlPlane = spec.spec.nodes.find((n) => n.role === 'control-plane')!.name;
  for (const p of planned) {
    if (p.runsOn !== 'agent') continue;
    const step = record(p, steps.length);
    if (step.kind === 'kubeadm-init') {
      steps.push(step);
      const prepared = paramsForDispatch(step, values);
      if ('missing' in prepared) throw new Error(`${step.id}: the scheduler would wait for ${prepared.missing}`);
      sent.push({ id: step.id, kind: step.kind, params: prepared.params });
      succeed(step, { caCertHash: `sha256:${'7a'.repeat(32)}` });
      continue;
    }
    if (step.kind !== 'kubeadm-join') {
      send(step);
      continue;
    }
    // A join gets its own token, and a control-plane join the certificates re-uploaded when the key is old.
    values.set(valueNames.certificateKey, { ...values.get(valueNames.certificateKey)!, updatedAt: 0 });
    const gate = joinCredentialGate(step, has, values, controlPlane, now, steps.length);
    for (const [name, value] of gate.values) values.set(name, value);
    for (const credential of gate.steps) send(credential);
    if (step.params['controlPlane'] === true) {
      // A first attempt that fails is cleaned up, then the retry joins.
      steps.push(step);
      for (const cleanup of cleanupAfterFailedControlPlaneJoin(
        { ...step, attempt: 1 },
        spec,
        controlPlane,
        steps.length,
      ))
        send(cleanup);
      steps.pop();
    }
    send(step);
    send(tokenDeletionAfterJoin(step, has, controlPlane, steps.length)!);
  }
  // The drill's coordinator step drives one failover-drill-action per action and phase on the VIP holder.
  for (const p of planned.filter((s) => s.kind === 'failover-drill')) {
    for (const action of p.params['actions'] as DrillAction[])
      for (const phase of ['apply', 'restore'] as const) {
        const params: DrillActionParams = { action, phase };
        send({
          ...record(p, steps.length),
          id: `${p.id}/${action}/${phase}`,
          kind: 'failover-drill-action',
          params: { ...params },
        });
      }
  }
  return sent;
}

const validDir = join(import.meta.dirname, '../../test/fixtures/specs-valid');
const specs: [string, ClusterSpec][] = readdirSync(validDir).map((file) => {
  const text = readFileSync(join(validDir, file), 'utf8');
  return [file, requireClusterSpec(file.endsWith('.json') ? JSON.parse(text) : text)];
});
const runKinds: RunKind[] = [
  'deploy',
  'verify',
  'drill-failover',
  'reset',
  'certs-renew',
  'etcd-snapshot',
  'etcd-restore',
];

/**
 * Deploys that change the nodes of running clusters: IPv4 with a control plane and a worker removed alive (they leave
 * the load balancer and are reset), IPv6 with a dead control plane replaced under its name and a dead worker removed.
 */
function nodeChangeDeploys(): [string, ClusterSpec, ClusterState][] {
  const nodes = (list: string[][]) => list.map(([name, address, role]) => ({ name, address, role }));
  const v4 = (list: string[][]) => testSpec({ nodes: nodes(list), allowEvenControlPlanes: true });
  const applied = v4([
    ['cp1', '10.0.0.11', 'control-plane'],
    ['cp2', '10.0.0.12', 'control-plane'],
    ['cp3', '10.0.0.13', 'control-plane'],
    ['w1', '10.0.0.21', 'worker'],
    ['w2', '10.0.0.22', 'worker'],
  ]);
  const desired = v4([
    ['cp1', '10.0.0.11', 'control-plane'],
    ['cp2', '10.0.0.12', 'control-plane'],
    ['w1', '10.0.0.21', 'worker'],
  ]);
  const v6 = specs.find(([file]) => file === 'ipv6-five-control-planes.yaml')![1];
  const v6Members = v6.spec.nodes.map((n) => n.name);
  const v6Desired: ClusterSpec = {
    ...v6,
    spec: { ...v6.spec, nodes: v6.spec.nodes.map((n) => (n.name === 'cp3' ? { ...n, address: 'fd00:10::33' } : n)) },
  };
  return [
    ['ipv4 remove cp3 and w2', desired, { members: ['cp1', 'cp2', 'cp3', 'w1', 'w2'], applied }],
    ['ipv6 replace dead cp3', v6Desired, { members: v6Members, applied: v6, dead: ['cp3', 'w1'] }],
  ];
}

const cases = [
  ...specs.flatMap(([file, spec]) =>
    runKinds.flatMap((run) => dispatchedSteps(run, spec).map((s) => [`${file} ${run}: ${s.id}`, s] as const)),
  ),
  ...nodeChangeDeploys().flatMap(([name, spec, state]) =>
    dispatchedSteps('deploy', spec, state).map((s) => [`${name}: ${s.id}`, s] as const),
  ),
];

describe('every parameter the coordinator sends passes the agent\u2019s own parser for that step kind', () => {
  it.each(cases)('%s', (_name, step) => {
    // GIVEN the parameters as the scheduler sends them
    const definition = stepRegistry.get(step.kind);
    expect(definition, `the agent has no step ${step.kind}`).toBeDefined();
    // THEN the agent's parser accepts them as sent, and after they crossed the wire
    expect(() => definition!.parseParams(step.params)).not.toThrow();
    const received = overTheWire(step.kind, step.params) as Record<string, unknown>;
    expect(() => definition!.parseParams(received)).not.toThrow();
    // AND no value is lost on the wire (a field missing from the proto would be dropped silently)
    for (const [key, value] of Object.entries(step.params)) {
      if (!isDefault(value)) expect({ [key]: received[key] }, `${step.kind}.${key}`).toMatchObject({ [key]: value });
    }
  });

  it('covers every step kind the agent has, and every parameter its proto message carries', () => {
    // GIVEN what all the runs of all the valid specs send
    const sent = new Map<string, Set<string>>();
    for (const [, step] of cases) {
      const keys = sent.get(step.kind) ?? new Set<string>();
      for (const key of Object.keys(step.params)) keys.add(key);
      sent.set(step.kind, keys);
    }
    // THEN every agent step kind is sent by some run
    expect([...sent.keys()].sort()).toEqual([...stepRegistry.keys()].sort());
    // AND every proto field of every kind is sent by some run, except these, which only the agent defaults
    const agentDefaultsOnly: Record<string, string[]> = {
      'join-credentials': ['minRemainingSeconds'],
      verify: ['nodeName'],
      'container-runtime': ['sandboxImage'],
      cni: ['manifestPath'],
      'etcd-snapshot': ['chunkBytes'],
    };
    for (const kind of stepRegistry.keys()) {
      const unsent = protoFields(kind).filter((f) => !sent.get(kind)!.has(f));
      expect(unsent, kind).toEqual(agentDefaultsOnly[kind] ?? []);
    }
  });

  it('sends remove-etcd-member the peer URL kubeadm registers, IPv4 and IPv6', () => {
    const removals = cases.filter(([, s]) => s.kind === 'remove-etcd-member').map(([, s]) => s.params);
    expect(removals).toContainEqual({ memberName: 'k8s-master2', memberPeerUrl: 'https://192.168.1.11:2380' });
    expect(removals).toContainEqual({ memberName: 'cp2', memberPeerUrl: 'https://[fd00:10::12]:2380' });
    // A removed control plane's member is found by the address it had, also when it is replaced under its name.
    expect(removals).toContainEqual({ memberName: 'cp3', memberPeerUrl: 'https://10.0.0.13:2380' });
    expect(removals).toContainEqual({ memberName: 'cp3', memberPeerUrl: 'https://[fd00:10::13]:2380' });
  });

  it('sends delete-token the joined token’s id, and create-token a whole token', () => {
    const actions = cases.filter(([, s]) => s.kind === 'join-credentials').map(([, s]) => s.params);
    expect(
      actions.filter((p) => p['action'] === 'delete-token').every((p) => /^[a-z0-9]{6}$/.test(String(p['token']))),
    ).toBe(true);
    expect(
      actions
        .filter((p) => p['action'] === 'create-token')
        .every((p) => /^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(String(p['token']))),
    ).toBe(true);
    expect(actions.map((p) => p['action'])).toEqual(
      expect.arrayContaining(['create-token', 'upload-certs', 'delete-token']),
    );
  });
});
