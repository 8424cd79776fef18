import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ErrorCode } from '../../common/errors.ts';
import type { StepEventReport, StepResult } from '../../common/step-events.ts';
import type { MessageToAgent } from '../../proto/convert.ts';
import { capturedLogger } from '../../test/support/captured-logs.ts';
import { enrollAgentsInStore } from '../../test/support/enrolled-agents.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { requireClusterSpec } from '../cluster-spec/parse-cluster-spec.ts';
import { coordinatorNode, type PlannedStep, type PlanRun } from '../plan/run-plan.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { AgentChannel } from './agent-outbox.ts';
import { valueNames } from './cluster-values.ts';
import { RunEventBus } from './run-event-bus.ts';
import { Scheduler } from './scheduler.ts';
import type { SchedulerObserver } from './scheduler-observer.ts';

const spec = requireClusterSpec(
  parse(
    readFileSync(
      new URL('../../test/fixtures/specs-valid/keepalived-single-control-plane.yaml', import.meta.url),
      'utf8',
    ),
  ),
);
const cp1 = 'cp1.lab.example.com';
const w1 = 'w1.lab.example.com';

/** The gateway as the scheduler sees it, keeping what it is asked to send. */
class FakeGateway implements AgentChannel {
  readonly sent: { agentId: string; message: MessageToAgent }[] = [];
  readonly connected = new Set<string>();
  /** Called as each message is sent, before send returns. */
  onSend: ((message: MessageToAgent) => void) | undefined;

  send(agentId: string, message: MessageToAgent): boolean {
    if (!this.connected.has(agentId)) return false;
    this.sent.push({ agentId, message });
    this.onSend?.(message);
    return true;
  }

  isConnected(agentId: string): boolean {
    return this.connected.has(agentId);
  }

  of<K extends keyof MessageToAgent>(field: K): NonNullable<MessageToAgent[K]>[] {
    return this.sent.flatMap((s) => (s.message[field] ? [s.message[field] as NonNullable<MessageToAgent[K]>] : []));
  }
}

function planned(id: string, kind: string, node: string, dependsOn: string[] = []): PlannedStep {
  return {
    id,
    kind,
    phase: 'host-prep',
    runsOn: node === coordinatorNode ? 'coordinator' : 'agent',
    node,
    dependsOn,
    timeoutSeconds: 60,
    retry: { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 },
    params: {},
  };
}

const open: { scheduler: Scheduler; store: SqliteStore }[] = [];
afterEach(() => {
  for (const { scheduler, store } of open.splice(0)) {
    scheduler.stop();
    store.close();
  }
});

/** A scheduler over an in-memory store holding the lab cluster and one enrolled, connected agent per node. */
function setUp(steps: PlannedStep[], observer?: SchedulerObserver, tickMs = 20) {
  const store = new SqliteStore(':memory:');
  const gateway = new FakeGateway();
  enrollAgentsInStore(
    store,
    spec.spec.nodes.map((n) => ({ id: `agent-${n.name}`, hostname: n.name, address: n.address })),
  );
  const agentIds = new Map<string, string>();
  for (const node of spec.spec.nodes) {
    const id = `agent-${node.name}`;
    store.agents.update(id, { connected: true });
    store.bindings.approve(id, node.name, 1);
    gateway.connected.add(id);
    agentIds.set(node.name, id);
  }
  store.clusters.put({
    name: spec.metadata.name,
    spec,
    createdAt: 1,
    updatedAt: 1,
    initializedAt: null,
    appliedSpec: null,
    appliedAt: null,
  });
  const planRun: PlanRun = (kind, s) => ({ kind, cluster: s.metadata.name, steps });
  const scheduler = new Scheduler({
    store,
    agents: gateway,
    bus: new RunEventBus(),
    logger: capturedLogger('scheduler').logger,
    planRun,
    tickMs,
    ...(observer ? { observer } : {}),
  });
  open.push({ scheduler, store });
  scheduler.start();
  return { store, gateway, scheduler, agentIds };
}

function finished(runId: string, stepId: string, attempt: number, result: Partial<StepResult> = {}): StepEventReport {
  return {
    type: 'finished',
    runId,
    stepId,
    attempt,
    atMs: 0,
    result: { outcome: 'succeeded', changed: true, outputs: {}, paramsChecksum: 'x', changes: [], ...result },
  };
}

describe('Scheduler over a fake gateway and an in-memory store', () => {
  it('GIVEN two dependent steps WHEN the run starts THEN the first goes out, stored as dispatched; its result is acknowledged, the second follows and the run succeeds', async () => {
    const { store, gateway, scheduler, agentIds } = setUp([
      planned('host-prep/cp1', 'host-prep', cp1),
      planned('host-prep/w1', 'host-prep', w1, ['host-prep/cp1']),
    ]);
    const run = scheduler.startRun('lab', 'deploy');

    const first = await waitFor('the first RunStep', () => gateway.of('run_step')[0]);
    expect(first).toMatchObject({ run_id: run.id, step_id: 'host-prep/cp1', attempt: 1, timeout_seconds: 60 });
    expect(gateway.sent.find((s) => s.message.run_step)?.agentId).toBe(agentIds.get(cp1));
    expect(store.steps.list(run.id).map((s) => [s.id, s.state])).toEqual([
      ['host-prep/cp1', 'dispatched'],
      ['host-prep/w1', 'pending'],
    ]);

    const cp1Agent = agentIds.get(cp1) ?? '';
    scheduler.stepEvent(cp1Agent, finished(run.id, 'host-prep/cp1', 1));
    const second = await waitFor('the second RunStep', () => gateway.of('run_step')[1]);
    expect(second.step_id).toBe('host-prep/w1');
    expect(gateway.of('ack')).toEqual([{ run_id: run.id, step_id: 'host-prep/cp1', attempt: 1 }]);

    scheduler.stepEvent(agentIds.get(w1) ?? '', finished(run.id, 'host-prep/w1', 1));
    const done = await waitFor('the run to end', () => {
      const r = store.runs.get(run.id);
      return r?.state === 'running' ? undefined : r;
    });
    expect(done.state).toBe('succeeded');
  });

  it('GIVEN a result reported by an agent that was not sent the step THEN it is neither applied nor acknowledged', async () => {
    const { store, gateway, scheduler, agentIds } = setUp([planned('host-prep/cp1', 'host-prep', cp1)]);
    const run = scheduler.startRun('lab', 'deploy');
    await waitFor('the RunStep', () => gateway.of('run_step')[0]);
    scheduler.stepEvent(agentIds.get(w1) ?? '', finished(run.id, 'host-prep/cp1', 1));
    scheduler.stepEvent(agentIds.get(cp1) ?? '', {
      type: 'log',
      runId: run.id,
      stepId: 'host-prep/cp1',
      attempt: 1,
      atMs: 0,
      stream: 'info',
      text: 'marker',
    });
    await waitFor('the log line', () => store.events.after(run.id, 0).find((e) => e.message === 'marker'));
    expect(store.steps.list(run.id)[0]?.state).toBe('dispatched');
    expect(gateway.of('ack')).toEqual([]);
  });

  it('WHEN a run is cancelled THEN the in-flight step is told to stop, the pending one never starts and the run ends cancelled', async () => {
    const { store, gateway, scheduler } = setUp([
      planned('host-prep/cp1', 'host-prep', cp1),
      planned('host-prep/w1', 'host-prep', w1, ['host-prep/cp1']),
    ]);
    const run = scheduler.startRun('lab', 'deploy');
    await waitFor('the RunStep', () => gateway.of('run_step')[0]);

    expect(scheduler.cancel(run.id).state).toBe('cancelled');
    await waitFor('the CancelStep', () => gateway.of('cancel_step')[0]);
    expect(gateway.of('cancel_step')).toEqual([{ run_id: run.id, step_id: 'host-prep/cp1', attempt: 1 }]);
    expect(store.steps.list(run.id).map((s) => s.state)).toEqual(['cancelled', 'cancelled']);
    expect(store.runs.get(run.id)?.state).toBe('cancelled');
    expect(() => scheduler.cancel(run.id)).toThrow(/already finished/);
  });

  it('GIVEN a step for the coordinator of a kind it does not run THEN the step fails as an invalid spec and so does the run', async () => {
    const { store, scheduler } = setUp([planned('mystery', 'no-such-check', coordinatorNode)]);
    const run = scheduler.startRun('lab', 'verify');
    const done = await waitFor('the run to end', () => {
      const r = store.runs.get(run.id);
      return r?.state === 'running' ? undefined : r;
    });
    expect(done.state).toBe('failed');
    expect(store.steps.list(run.id)[0]?.error).toMatchObject({
      code: ErrorCode.specInvalid,
      message: 'no-such-check is not a step the coordinator knows',
    });
  });

  it('WHEN kubeadm-init succeeds THEN its CA hash is kept for the joins and every node is told the cluster is initialized', async () => {
    const { store, gateway, scheduler, agentIds } = setUp([planned('init/cp1', 'kubeadm-init', cp1)]);
    const run = scheduler.startRun('lab', 'deploy');
    const sent = await waitFor('the kubeadm-init RunStep', () => gateway.of('run_step')[0]);
    // The secrets made for the run go out with the step, not in the stored parameters.
    expect(sent.kubeadm_init).toMatchObject({
      bootstrap_token: store.clusterValues.get('lab', valueNames.initToken)?.value,
    });
    expect(store.steps.list(run.id)[0]?.params).toEqual({});

    const hash = `sha256:${'a'.repeat(64)}`;
    scheduler.stepEvent(agentIds.get(cp1) ?? '', finished(run.id, 'init/cp1', 1, { outputs: { caCertHash: hash } }));
    await waitFor('an initialized ClusterPhase to both nodes', () =>
      gateway.sent.filter((s) => s.message.cluster_phase?.initialized === true).length === 2 ? true : undefined,
    );
    expect(store.clusterValues.get('lab', valueNames.caCertHash)?.value).toBe(hash);
    expect(store.clusters.get('lab')?.initializedAt).not.toBeNull();
    const phases = gateway.sent.filter((s) => s.message.cluster_phase?.initialized === true);
    expect(phases.map((p) => [p.agentId, p.message.cluster_phase?.init_node])).toEqual([
      [agentIds.get(cp1), true],
      [agentIds.get(w1), false],
    ]);
  });

  it('GIVEN a wave of 1,000 ready steps THEN the first pass starts 64 of them and each further pass twice as many, up to the last', async () => {
    const wave = Array.from({ length: 1000 }, (_, i) => planned(`host-prep/${i}`, 'host-prep', i % 2 ? w1 : cp1));
    const dispatchedAfterPass: number[] = [];
    let store: SqliteStore | undefined;
    const observer: SchedulerObserver = {
      passFinished: () => {
        const steps = store?.steps.list(run.id) ?? [];
        dispatchedAfterPass.push(steps.filter((s) => s.state === 'dispatched').length);
      },
      stepAttemptFinished: () => {},
      stepFailed: () => {},
      stepRetrying: () => {},
    };
    const set = setUp(wave, observer);
    store = set.store;
    const run = set.scheduler.startRun('lab', 'deploy');
    await waitFor('every step dispatched', () => dispatchedAfterPass.at(-1) === 1000 || undefined);
    const started = [...new Set(dispatchedAfterPass)].filter((n) => n > 0);
    expect(started).toEqual([64, 64 + 128, 64 + 128 + 256, 64 + 128 + 256 + 512, 1000]);
  });

  it('GIVEN a step waiting for two WHEN the first result arrives THEN no pass is made for it; the second, which lets the step start, makes one', async () => {
    let passes = 0;
    const observer: SchedulerObserver = {
      passFinished: () => {
        passes++;
      },
      stepAttemptFinished: () => {},
      stepFailed: () => {},
      stepRetrying: () => {},
    };
    // No tick within the test: every pass is one the scheduler asked for.
    const { gateway, scheduler, agentIds } = setUp(
      [
        planned('preflight/cp1', 'preflight', cp1),
        planned('preflight/w1', 'preflight', w1),
        planned('checks', 'host-prep', w1, ['preflight/cp1', 'preflight/w1']),
      ],
      observer,
      3_600_000,
    );
    const run = scheduler.startRun('lab', 'deploy');
    await waitFor('both preflights sent', () => gateway.of('run_step').length === 2 || undefined);
    const before = passes;

    scheduler.stepEvent(agentIds.get(cp1) ?? '', finished(run.id, 'preflight/cp1', 1));
    await waitFor('the first result acknowledged', () => gateway.of('ack').length === 1 || undefined);
    expect(passes).toBe(before);

    scheduler.stepEvent(agentIds.get(w1) ?? '', finished(run.id, 'preflight/w1', 1));
    const checks = await waitFor('the checks sent', () => gateway.of('run_step')[2]);
    expect(checks.step_id).toBe('checks');
    expect(passes).toBe(before + 1);
  });

  it('GIVEN a step heading a chain and a wave ready at once THEN its RunStep leaves before the wave is stored as dispatched', async () => {
    const wave = Array.from({ length: 20 }, (_, i) => planned(`join/${i}`, 'host-prep', w1, ['init']));
    const { store, gateway, scheduler, agentIds } = setUp([
      planned('init', 'kubeadm-init', cp1),
      ...wave,
      planned('cni', 'host-prep', cp1, ['init']),
      planned('after-cni', 'host-prep', cp1, ['cni']),
    ]);
    const run = scheduler.startRun('lab', 'deploy');
    await waitFor('the init RunStep', () => gateway.of('run_step')[0]);
    let waveWhenCniLeft: string[] | undefined;
    gateway.onSend = (message) => {
      if (message.run_step?.step_id !== 'cni') return;
      waveWhenCniLeft = store.steps
        .list(run.id, false)
        .filter((s) => s.id.startsWith('join/'))
        .map((s) => s.state);
    };
    scheduler.stepEvent(agentIds.get(cp1) ?? '', finished(run.id, 'init', 1));
    await waitFor('the wave sent', () => gateway.of('run_step').length === 22 || undefined);
    expect(gateway.of('run_step')[1]?.step_id).toBe('cni');
    expect(waveWhenCniLeft).toEqual(wave.map(() => 'pending'));
  });

  it('GIVEN "started" events and log lines held for a batch WHEN a result follows THEN all are stored in the order they came', async () => {
    const { store, gateway, scheduler, agentIds } = setUp([planned('host-prep/cp1', 'host-prep', cp1)]);
    const run = scheduler.startRun('lab', 'deploy');
    await waitFor('the RunStep', () => gateway.of('run_step')[0]);
    const agent = agentIds.get(cp1) ?? '';
    const ref = { runId: run.id, stepId: 'host-prep/cp1', attempt: 1, atMs: 0 };
    scheduler.stepEvent(agent, { ...ref, type: 'started', stepKind: 'host-prep', paramsChecksum: 'x' });
    scheduler.stepEvent(agent, { ...ref, type: 'log', stream: 'info', text: 'marker' });
    scheduler.stepEvent(agent, finished(run.id, 'host-prep/cp1', 1));
    await waitFor('the result acknowledged', () => gateway.of('ack')[0]);
    const events = store.events.after(run.id, 0).filter((e) => e.stepId === 'host-prep/cp1');
    expect(events.map((e) => e.state ?? e.message)).toEqual(['dispatched', 'running', 'marker', 'succeeded']);
  });

  it('GIVEN a "started" event held for a batch WHEN the scheduler stops THEN it is stored before the store closes', async () => {
    const { store, gateway, scheduler, agentIds } = setUp([planned('host-prep/cp1', 'host-prep', cp1)]);
    const run = scheduler.startRun('lab', 'deploy');
    await waitFor('the RunStep', () => gateway.of('run_step')[0]);
    scheduler.stepEvent(agentIds.get(cp1) ?? '', {
      runId: run.id,
      stepId: 'host-prep/cp1',
      attempt: 1,
      atMs: 0,
      type: 'started',
      stepKind: 'host-prep',
      paramsChecksum: 'x',
    });
    scheduler.stop();
    expect(store.steps.list(run.id)[0]?.state).toBe('running');
  });
});
