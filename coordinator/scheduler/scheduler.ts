import { randomUUID } from 'node:crypto';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { redactSecrets } from '../../common/redact.ts';
import type { StepEventReport, StepFailure, StepResult } from '../../common/step-events.ts';
import {
  ackMessage,
  cancelStepMessage,
  clusterPhaseMessage,
  type MessageToAgent,
  runStepMessage,
} from '../../proto/convert.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { type DrillOptions, type DrillRun, drillActionTimeoutSeconds } from '../drill/drive-drill.ts';
import { planRun } from '../plan/plan-run.ts';
import { coordinatorNode, type PlanRun, type RunKind } from '../plan/run-plan.ts';
import { unsupportedChanges } from '../plan/spec-changes.ts';
import {
  type AgentRecord,
  isTerminal,
  notStartedStep,
  type RunEvent,
  type RunRecord,
  type StepRecord,
  type StepUpdate,
  type Store,
} from '../store/store.ts';
import { AgentsByAddress, resolveNodeAgent } from './agent-for-node.ts';
import { type AgentChannel, AgentOutbox } from './agent-outbox.ts';
import { clusterMembers, nodesWithoutAgent, specForRun } from './cluster-state.ts';
import {
  clusterCaPem,
  paramsForDispatch,
  type Values,
  valueChangesAfterSuccess,
  valueNames,
} from './cluster-values.ts';
import type { CoordinatorStepContext, CoordinatorStepVerdict } from './coordinator-steps/coordinator-step.ts';
import { coordinatorStepDefinition } from './coordinator-steps/coordinator-step-registry.ts';
import {
  cleanupAfterFailedControlPlaneJoin,
  healthyControlPlane,
  isControlPlaneJoin,
  isJoin,
  joinCredentialGate,
  missingClusterSecrets,
  tokenDeletionAfterJoin,
} from './join-credentials.ts';
import type { RunEventBus } from './run-event-bus.ts';
import { failureDecision, inFlightFailure, isInFlight, readySteps, runOutcome, stepsToSkip } from './step-decisions.ts';
import { StepLogCap } from './step-log-cap.ts';
import { trustedOutputs } from './trusted-outputs.ts';

export interface SchedulerOptions {
  store: Store;
  agents: AgentChannel;
  bus: RunEventBus;
  logger: Logger;
  /** The planner; tests may hand in a smaller DAG. */
  planRun?: PlanRun;
  now?: () => number;
  tickMs?: number;
  /** How long a step's agent may be away before the step counts as failed (and is retried). */
  disconnectGraceMs?: number;
  /** How long a ready step waits for its node's agent to connect before it fails (default 10 minutes). */
  agentWaitMs?: number;
  /** After a coordinator restart, agents get this long to reconnect before their steps time out. */
  resumeGraceMs?: number;
  /** The failover drill's timings and /readyz probe; the defaults suit production. */
  drill?: DrillOptions;
}

interface ActiveRun {
  run: RunRecord;
  spec: ClusterSpec;
  steps: Map<string, StepRecord>;
  nextSeq: number;
  /** kubeadm-init and the control-plane joins: where join credentials can be made. */
  controlPlaneSteps: StepRecord[];
}

function activeRun(run: RunRecord, spec: ClusterSpec, steps: StepRecord[]): ActiveRun {
  return {
    run,
    spec,
    steps: new Map(steps.map((s) => [s.id, s])),
    nextSeq: steps.reduce((max, s) => Math.max(max, s.seq + 1), 0),
    controlPlaneSteps: steps.filter((s) => s.kind === 'kubeadm-init' || isControlPlaneJoin(s)),
  };
}

/**
 * Walks every unfinished run's DAG. Every transition is written to the store (with its event) before it is acted
 * on: a RunStep is sent only after the step is recorded as dispatched, an Ack only after the result is stored.
 * The decisions themselves are the pure functions of step-decisions.ts and join-credentials.ts.
 */
export class Scheduler {
  private readonly options: SchedulerOptions;
  private readonly now: () => number;
  private readonly active = new Map<string, ActiveRun>();
  private readonly logCap = new StepLogCap();
  /** Agents by the addresses they report: who may be proposed for a node, never who serves it. */
  private agentIndex: AgentsByAddress | undefined;
  /** "cluster\0node" -> bound agent id, as in the store. */
  private readonly boundCache = new Map<string, string | null>();
  /** "cluster\0node\0agent" of claims already reported, so each is said once. */
  private readonly reportedClaims = new Set<string>();
  private pendingEvents: RunEvent[] = [];
  private inbox: { agentId: string; event: StepEventReport }[] = [];
  private readonly outbox: AgentOutbox;
  private depth = 0;
  private kickQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** "runId/stepId" of ready steps whose agent is missing, and since when. */
  private readonly agentWaits = new Map<string, number>();
  /** "runId/stepId" of the coordinator's own steps running in the background (the failover drill). */
  private readonly background = new Set<string>();

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.outbox = new AgentOutbox(options.agents);
  }

  /** Resumes every unfinished run; dispatched steps are re-sent (same id and attempt) once their agent is back. */
  start(): void {
    const now = this.now();
    const grace = this.options.resumeGraceMs ?? 30_000;
    for (const run of this.options.store.runs.unfinished()) {
      const cluster = this.options.store.clusters.get(run.cluster);
      if (!cluster) continue;
      const steps = this.options.store.steps.list(run.id);
      const active = activeRun(run, specForRun(cluster, run.kind), steps);
      this.active.set(run.id, active);
      this.record(() => {
        for (const s of steps) {
          if (!isInFlight(s.state)) continue;
          if (s.node === coordinatorNode) {
            // The coordinator's own steps are pure checks: run them again.
            this.updateStep(active, s, { state: 'pending', attempt: Math.max(0, s.attempt - 1) });
            continue;
          }
          const deadlineAt = Math.max(s.deadlineAt ?? 0, now + grace);
          this.updateStep(active, s, { deadlineAt, disconnectedAt: now });
        }
      });
      this.options.logger.info({ runId: run.id, cluster: run.cluster, kind: run.kind }, 'resuming run');
    }
    this.timer = setInterval(() => this.kick(), this.options.tickMs ?? 250);
    this.timer.unref();
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /**
   * Plans and starts a run. Refused (409) when the cluster is busy, when a deploy asks for a change the plan cannot
   * make, and, unless `waitForAgents`, when a node has no enrolled agent.
   */
  startRun(clusterName: string, kind: RunKind, options: { waitForAgents?: boolean } = {}): RunRecord {
    const cluster = this.options.store.clusters.get(clusterName);
    if (!cluster) throw new KubehaError(ErrorCode.notFound, `no cluster ${clusterName}`);
    const busy = [...this.active.values()].find((a) => a.run.cluster === clusterName);
    if (busy) {
      throw new KubehaError(ErrorCode.conflict, `cluster ${clusterName} already has run ${busy.run.id} in progress`, {
        details: { runId: busy.run.id },
      });
    }
    const spec = specForRun(cluster, kind);
    const members = clusterMembers(this.options.store, cluster);
    if (kind === 'deploy') {
      const problems = unsupportedChanges(cluster.appliedSpec, spec, members);
      if (problems.length > 0) {
        throw new KubehaError(ErrorCode.conflict, `cannot deploy ${clusterName}: ${problems.join('; ')}`, {
          details: problems,
        });
      }
    }
    const missing = nodesWithoutAgent(spec, this.options.store.agents.list());
    if (missing.length > 0 && options.waitForAgents !== true) {
      throw new KubehaError(
        ErrorCode.conflict,
        `no enrolled agent reports ${missing.map((n) => `${n.address} (${n.name})`).join(', ')}; enroll the agent(s) first, or start the run waiting for them (kubeha apply --wait-for-agents)`,
        { details: missing.map((n) => n.name) },
      );
    }
    const plan = (this.options.planRun ?? planRun)(kind, spec, { members });
    const now = this.now();
    const run: RunRecord = {
      id: `run-${randomUUID()}`,
      cluster: clusterName,
      kind,
      state: 'running',
      createdAt: now,
      finishedAt: null,
      error: null,
    };
    const steps: StepRecord[] = plan.steps.map((p, seq) => ({
      runId: run.id,
      id: p.id,
      seq,
      kind: p.kind,
      node: p.node,
      dependsOn: [...p.dependsOn],
      timeoutSeconds: p.timeoutSeconds,
      retry: p.retry,
      params: p.params,
      concurrencyGroup: p.concurrencyGroup ?? null,
      bestEffort: false,
      forNode: null,
      ...notStartedStep(),
    }));
    const active = activeRun(run, spec, steps);
    this.record(() => {
      this.options.store.runs.insert(run);
      this.options.store.steps.insert(steps);
      for (const [name, value] of missingClusterSecrets(this.valuesOf(clusterName), now)) {
        this.options.store.clusterValues.set(clusterName, name, value);
      }
      this.event(run.id, { type: 'run', state: 'running', message: `${kind} run of ${clusterName} started` });
    });
    this.active.set(run.id, active);
    // Agents that connected before the cluster existed learn its phase now, before any step (the init node's health
    // endpoint answers healthy before init, so the VIP sits where init needs it).
    this.broadcastPhase(cluster.spec, cluster.initializedAt !== null);
    this.options.logger.info({ runId: run.id, cluster: clusterName, kind, steps: steps.length }, 'run started');
    this.kick();
    return run;
  }

  /** Cancels the run: pending steps never start, in-flight steps are told to stop; late results are ignored. */
  cancel(runId: string): RunRecord {
    const active = this.active.get(runId);
    if (!active) {
      const run = this.options.store.runs.get(runId);
      if (!run) throw new KubehaError(ErrorCode.notFound, `no run ${runId}`);
      throw new KubehaError(ErrorCode.conflict, `run ${runId} has already finished (${run.state})`);
    }
    const now = this.now();
    const inFlight = [...active.steps.values()].filter((s) => isInFlight(s.state));
    this.record(() => {
      for (const s of active.steps.values()) {
        if (isTerminal(s.state)) continue;
        this.updateStep(active, s, { state: 'cancelled', finishedAt: now });
      }
      this.finishRun(active, 'cancelled', 'cancelled by the operator');
    });
    for (const s of inFlight) {
      if (s.agentId) {
        this.deliver(s.agentId, cancelStepMessage({ runId, stepId: s.id, attempt: s.attempt }));
      }
    }
    return active.run;
  }

  /** The ClusterPhase of every cluster this agent is a node of; sent when its session opens. */
  clusterPhaseMessages(agentId: string): MessageToAgent[] {
    const agent = this.options.store.agents.get(agentId);
    if (!agent) return [];
    const messages: MessageToAgent[] = [];
    for (const cluster of this.options.store.clusters.list()) {
      const node = cluster.spec.spec.nodes.find((n) => this.agentFor(cluster.spec, n.name)?.id === agentId);
      if (node) messages.push(this.phaseFor(cluster.spec, node.name, cluster.initializedAt !== null));
    }
    return messages;
  }

  agentConnected(agentId: string, unacknowledged: StepEventReport[]): void {
    const agent = this.options.store.agents.get(agentId);
    if (agent && this.agentIndex) this.agentIndex.claim(agent);
    this.applyEvents(
      unacknowledged.map((event) => ({ agentId, event })),
      false,
    );
    const now = this.now();
    const resend: { active: ActiveRun; step: StepRecord }[] = [];
    this.record(() => {
      for (const active of this.active.values()) {
        for (const s of active.steps.values()) {
          if (isInFlight(s.state) && s.agentId === agentId) {
            if (s.disconnectedAt !== null) this.updateStep(active, s, { disconnectedAt: null });
            resend.push({ active, step: s });
          }
        }
      }
    });
    // Same step id and attempt: the agent runs it once, or answers from its spool.
    for (const { active, step } of resend) this.send(active, step, now);
    this.kick();
  }

  agentDisconnected(agentId: string): void {
    const now = this.now();
    this.record(() => {
      for (const active of this.active.values()) {
        for (const s of active.steps.values()) {
          if (isInFlight(s.state) && s.agentId === agentId && s.disconnectedAt === null) {
            this.updateStep(active, s, { disconnectedAt: now });
          }
        }
      }
    });
  }

  /** Events are applied in batches (one transaction per event-loop turn), then acknowledged. */
  stepEvent(agentId: string, event: StepEventReport): void {
    this.inbox.push({ agentId, event });
    if (this.inbox.length === 1) setImmediate(() => this.applyEvents(this.inbox.splice(0)));
  }

  private applyEvents(batch: { agentId: string; event: StepEventReport }[], advance = true): void {
    if (batch.length === 0) return;
    const acks: { agentId: string; event: StepEventReport }[] = [];
    try {
      this.record(() => {
        for (const { agentId, event } of batch) if (this.applyEvent(agentId, event)) acks.push({ agentId, event });
      });
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not store agent events; they are applied when re-sent');
      for (const { event } of batch) this.reload(event.runId);
      return;
    }
    // Only what is stored is acknowledged: an agent keeps anything else in its spool and sends it again.
    for (const { agentId, event } of acks) {
      this.outbox.send(agentId, ackMessage(event));
    }
    // The batch is one turn's worth of results: start what they unlocked now rather than a turn later.
    if (advance) this.pass();
  }

  /** Applies one agent event inside the caller's transaction; true when it is a result to acknowledge. */
  private applyEvent(agentId: string, event: StepEventReport): boolean {
    const active = this.active.get(event.runId);
    const step = active?.steps.get(event.stepId);
    if (!active || !step) return event.type === 'finished';
    if (step.agentId !== agentId) {
      this.options.logger.warn(
        { agentId, runId: event.runId, stepId: event.stepId },
        'event from another agent ignored',
      );
      return false;
    }
    const current = step.attempt === event.attempt && isInFlight(step.state);
    if (event.type === 'finished') {
      if (current) this.applyResult(active, step, event.result);
      return true;
    }
    if (!current) return false;
    if (event.type === 'started') {
      if (step.state === 'dispatched') {
        this.updateStep(active, step, { state: 'running', startedAt: this.now() });
        this.stepEventEntry(active, step, 'running', `${step.id} started on ${step.node}`);
      }
      return false;
    }
    const admitted = this.logCap.admit(active.run.id, step.id, step.attempt, event.text);
    if (admitted === undefined) return false;
    this.event(active.run.id, {
      type: 'log',
      stepId: step.id,
      node: step.node,
      attempt: step.attempt,
      state: null,
      message: redactSecrets(admitted),
    });
    return false;
  }

  /** Coalesces wake-ups: one pass over the runs per event-loop turn. */
  kick(): void {
    if (this.kickQueued || this.stopped) return;
    this.kickQueued = true;
    setImmediate(() => {
      this.kickQueued = false;
      this.pass();
    });
  }

  private pass(): void {
    if (this.stopped) return;
    for (const active of [...this.active.values()]) {
      try {
        this.advance(active);
      } catch (error) {
        this.options.logger.error({ err: error, runId: active.run.id }, 'scheduler pass failed; reloading the run');
        this.reload(active.run.id);
      }
    }
  }

  private advance(active: ActiveRun): void {
    const now = this.now();
    const disconnectGraceMs = this.options.disconnectGraceMs ?? 30_000;
    this.record(() => {
      for (const s of active.steps.values()) {
        const failure = inFlightFailure(s, now, disconnectGraceMs);
        if (!failure) continue;
        const { agentId, attempt } = s;
        this.applyFailure(active, s, failure);
        if (agentId) this.deliver(agentId, cancelStepMessage({ runId: active.run.id, stepId: s.id, attempt }));
      }
    });
    // At most a slice per pass, committed and sent before the next pass: the first steps of a wide wave (the control
    // planes come first in the plan) leave without waiting for a thousand others.
    const ready = readySteps(active.steps, now);
    const slice = 64;
    this.record(() => {
      for (const s of ready.slice(0, slice)) this.startStep(active, s, now);
    });
    if (ready.length > slice) this.kick();
    this.record(() => this.finishIfDone(active));
  }

  private finishIfDone(active: ActiveRun): void {
    if (!this.active.has(active.run.id)) return;
    const outcome = runOutcome(active.steps.values());
    if (outcome !== 'running') {
      const failed = [...active.steps.values()].find((s) => s.state === 'failed' && !s.bestEffort);
      this.record(() =>
        this.finishRun(active, outcome, failed ? `${failed.id}: ${failed.error?.message ?? 'failed'}` : null),
      );
    }
  }

  private startStep(active: ActiveRun, step: StepRecord, now: number): void {
    const attempt = step.attempt + 1;
    if (step.node === coordinatorNode) {
      this.runInCoordinator(active, step, attempt, now);
      return;
    }
    const agent = this.agentFor(active.spec, step.node);
    if (!agent || !this.options.agents.isConnected(agent.id)) {
      this.waitForAgent(active, step, agent, now);
      return;
    }
    this.agentWaits.delete(`${active.run.id}/${step.id}`);
    const values = this.valuesOf(active.run.cluster);
    if (isJoin(step) && step.state !== 'preparing') {
      const controlPlane = healthyControlPlane(active.controlPlaneSteps, step.node, (n) => {
        const a = this.agentFor(active.spec, n);
        return a !== undefined && this.options.agents.isConnected(a.id);
      });
      if (!controlPlane) {
        this.record(() =>
          this.applyFailure(active, step, {
            code: ErrorCode.stepFailed,
            message: 'no healthy control plane to make join credentials on',
            deterministic: true,
          }),
        );
        return;
      }
      const gate = joinCredentialGate(step, (id) => active.steps.has(id), values, controlPlane, now, active.nextSeq);
      if (gate.steps.length > 0) {
        this.record(() => {
          for (const [name, value] of gate.values)
            this.options.store.clusterValues.set(active.run.cluster, name, value);
          this.insertSteps(active, gate.steps);
          this.updateStep(active, step, {
            state: 'preparing',
            dependsOn: [...step.dependsOn, ...gate.steps.map((s) => s.id)],
          });
          this.stepEventEntry(
            active,
            step,
            'preparing',
            `${step.id} waits for ${gate.steps.map((s) => s.id).join(', ')}`,
          );
        });
        // The credential steps just added are ready: another pass starts them.
        this.kick();
        return;
      }
    }
    const prepared = paramsForDispatch(step, values);
    if ('missing' in prepared) {
      this.record(() =>
        this.applyFailure(active, step, {
          code: ErrorCode.stepFailed,
          message: `${prepared.missing} is not known yet (an earlier step did not report it)`,
          deterministic: true,
        }),
      );
      return;
    }
    this.record(() => {
      this.updateStep(active, step, {
        state: 'dispatched',
        attempt,
        agentId: agent.id,
        dispatchedAt: now,
        startedAt: null,
        finishedAt: null,
        deadlineAt: now + step.timeoutSeconds * 1000,
        nextAttemptAt: null,
        disconnectedAt: null,
      });
      this.stepEventEntry(active, step, 'dispatched', `${step.id} attempt ${attempt} sent to ${step.node}`);
    });
    this.send(active, step, now, prepared.params);
  }

  /**
   * A ready step whose node has no connected agent: said once in the run's events, then failed with that reason
   * once the wait is over (a run never sits silent on a node nobody serves).
   */
  private waitForAgent(active: ActiveRun, step: StepRecord, agent: AgentRecord | undefined, now: number): void {
    const key = `${active.run.id}/${step.id}`;
    const address = active.spec.spec.nodes.find((n) => n.name === step.node)?.address ?? step.node;
    const why = agent
      ? `waiting for agent ${agent.id} (${step.node}, ${address}) to connect`
      : `waiting for an agent bound to ${step.node} (${address}): enroll it with a token scoped to the node ` +
        `(kubeha token create --node ${step.node}) or approve one (kubeha agents approve AGENT --node ${step.node})`;
    const since = this.agentWaits.get(key);
    if (since === undefined) {
      this.agentWaits.set(key, now);
      this.record(() => this.stepEventEntry(active, step, 'pending', `${step.id}: ${why}`));
      return;
    }
    const waitMs = this.options.agentWaitMs ?? 600_000;
    if (now - since < waitMs) return;
    this.agentWaits.delete(key);
    this.record(() =>
      this.applyFailure(active, step, {
        code: ErrorCode.unavailable,
        message: `${why}: none came within ${Math.round(waitMs / 1000)} s`,
        deterministic: true,
      }),
    );
  }

  private send(active: ActiveRun, step: StepRecord, now: number, params?: Record<string, unknown>): void {
    if (!step.agentId) return;
    let sendParams = params;
    if (!sendParams) {
      const prepared = paramsForDispatch(step, this.valuesOf(active.run.cluster));
      if ('missing' in prepared) return;
      sendParams = prepared.params;
    }
    const ref = { runId: active.run.id, stepId: step.id, attempt: step.attempt, timeoutSeconds: step.timeoutSeconds };
    const { kind } = step;
    const stepParams = sendParams;
    // Built when it leaves: converting a thousand large parameter sets is what a wide wave spends its time on.
    const message = () => runStepMessage(ref, kind, stepParams);
    const attempt = step.attempt;
    this.deliver(step.agentId, message, () => {
      if (step.attempt === attempt && isInFlight(step.state) && step.disconnectedAt === null) {
        this.record(() => this.updateStep(active, step, { disconnectedAt: now }));
      }
    });
  }

  private runInCoordinator(active: ActiveRun, step: StepRecord, attempt: number, now: number): void {
    this.record(() => {
      this.updateStep(active, step, { state: 'running', attempt, dispatchedAt: now, startedAt: now, agentId: null });
      this.stepEventEntry(active, step, 'running', `${step.id} started in the coordinator`);
    });
    const runId = active.run.id;
    const definition = coordinatorStepDefinition(step.kind);
    if (!definition) {
      this.recordVerdict(runId, step.id, attempt, {
        log: [],
        changed: false,
        failure: { code: ErrorCode.specInvalid, message: `${step.kind} is not a step the coordinator knows` },
      });
      return;
    }
    if (definition.mode === 'check') {
      this.recordVerdict(runId, step.id, attempt, definition.run(this.coordinatorStepContext(active, step, attempt)));
      return;
    }
    // It takes minutes: it runs alongside the scheduler, outside this pass's transaction, and records its verdict
    // when it ends.
    const key = `${runId}/${step.id}`;
    if (this.background.has(key)) return;
    this.background.add(key);
    setImmediate(() => {
      const live = this.active.get(runId);
      const current = live?.steps.get(step.id);
      if (!live || !current) {
        this.background.delete(key);
        return;
      }
      definition
        .run(this.coordinatorStepContext(live, current, attempt))
        .then((verdict) => this.recordVerdict(runId, current.id, attempt, verdict))
        .catch((error) =>
          this.options.logger.error({ err: error, runId, stepId: current.id }, `${current.kind} failed`),
        )
        .finally(() => this.background.delete(key));
    });
  }

  private coordinatorStepContext(active: ActiveRun, step: StepRecord, attempt: number): CoordinatorStepContext {
    return {
      spec: active.spec,
      step,
      factsOf: (node) => this.agentFor(active.spec, node)?.facts,
      clusterCaPem: () => clusterCaPem(this.valuesOf(active.run.cluster)),
      drillRun: this.drillRun(active.run.id, step, attempt),
      drillOptions: this.options.drill ?? {},
    };
  }

  /** The run as the failover drill acts on it: its action steps are stored before they are sent, like any step. */
  private drillRun(runId: string, drillStep: StepRecord, attempt: number): DrillRun {
    const live = () => {
      const active = this.active.get(runId);
      if (!active || this.stopped) throw new Error(`run ${runId} is no longer running`);
      return active;
    };
    return {
      addActionStep: (node, params) => {
        let id = '';
        this.record(() => {
          const active = live();
          const base = `${drillStep.id}/${params.action}/${params.phase}`;
          id = base;
          for (let n = 2; active.steps.has(id); n++) id = `${base}-${n}`;
          this.insertSteps(active, [
            {
              runId,
              id,
              seq: active.nextSeq,
              kind: 'failover-drill-action',
              node,
              dependsOn: [],
              timeoutSeconds: drillActionTimeoutSeconds,
              retry: drillStep.retry,
              params: { ...params },
              concurrencyGroup: null,
              // The drill decides the run's outcome from its report; a failed action must not skip the restores.
              bestEffort: true,
              forNode: node,
              ...notStartedStep(),
            },
          ]);
        });
        this.kick();
        return id;
      },
      actionSteps: () =>
        [...live().steps.values()].filter((s) => s.kind === 'failover-drill-action').sort((a, b) => a.seq - b.seq),
      cancelActionStep: (id, reason) =>
        this.record(() => {
          const active = live();
          const current = active.steps.get(id);
          if (!current) return;
          this.updateStep(active, current, { state: 'cancelled', finishedAt: this.now() });
          this.stepEventEntry(active, current, 'cancelled', `${id} cancelled: ${reason}`);
        }),
      holdsVip: (node) => {
        const agent = this.agentFor(live().spec, node);
        return agent !== undefined && this.options.store.agents.get(agent.id)?.holdsVip === true;
      },
      log: (message) =>
        this.record(() =>
          this.event(runId, { type: 'log', stepId: drillStep.id, node: coordinatorNode, attempt, message }),
        ),
    };
  }

  /** Records the verdict of a coordinator step, unless the run or the step's attempt has moved on meanwhile. */
  private recordVerdict(runId: string, stepId: string, attempt: number, verdict: CoordinatorStepVerdict): void {
    if (!this.active.has(runId) || this.stopped) return;
    this.record(() => {
      const active = this.active.get(runId);
      const current = active?.steps.get(stepId);
      if (!active || current?.state !== 'running' || current.attempt !== attempt) return;
      for (const message of verdict.log) {
        this.event(runId, { type: 'log', stepId, node: current.node, attempt, message });
      }
      const result: StepResult | undefined = verdict.outputs && {
        outcome: verdict.failure ? 'failed' : 'succeeded',
        changed: verdict.changed,
        outputs: verdict.outputs,
        paramsChecksum: '',
        changes: [],
      };
      if (verdict.failure) this.applyFailure(active, current, { ...verdict.failure, deterministic: true }, result);
      else {
        this.applyResult(
          active,
          current,
          result ?? { outcome: 'succeeded', changed: verdict.changed, outputs: {}, paramsChecksum: '', changes: [] },
        );
      }
    });
    // What this step unlocked starts in the next pass, not at the next tick.
    this.kick();
  }

  private applyResult(active: ActiveRun, step: StepRecord, result: StepResult): void {
    if (result.outcome !== 'succeeded') {
      const failure: StepFailure = result.error ?? {
        code: result.outcome === 'timed-out' ? ErrorCode.stepTimeout : ErrorCode.stepFailed,
        message: `the step ended ${result.outcome}`,
        deterministic: false,
      };
      this.applyFailure(active, step, failure, result);
      return;
    }
    const now = this.now();
    const cluster = active.run.cluster;
    const { endpoint } = active.spec.spec;
    const trusted = trustedOutputs(
      step.kind,
      result.outputs,
      `${endpoint.vip.includes(':') ? `[${endpoint.vip}]` : endpoint.vip}:${endpoint.port}`,
    );
    for (const { name, reason } of trusted.refused) {
      const message = `${step.id} on ${step.node} reported output ${name}: ${reason}; not kept`;
      this.options.logger.warn({ runId: active.run.id, stepId: step.id, agentId: step.agentId, output: name }, message);
      this.event(active.run.id, { type: 'log', stepId: step.id, node: step.node, message: `warning: ${message}` });
    }
    const kept = { ...result, outputs: trusted.accepted };
    this.updateStep(active, step, {
      state: 'succeeded',
      finishedAt: now,
      changed: kept.changed,
      outputs: kept.outputs,
      error: null,
      disconnectedAt: null,
    });
    this.stepEventEntry(active, step, 'succeeded', `${step.id} succeeded${kept.changed ? ' (changed)' : ''}`);
    const changes = valueChangesAfterSuccess(step, kept, this.valuesOf(cluster), now);
    for (const [name, value] of changes.set) this.options.store.clusterValues.set(cluster, name, value);
    for (const name of changes.remove) this.options.store.clusterValues.delete(cluster, name);
    if (changes.initialized) {
      const record = this.options.store.clusters.get(cluster);
      if (record) this.options.store.clusters.put({ ...record, initializedAt: now });
      this.broadcastPhase(active.spec, true);
    }
    if (isJoin(step)) {
      const controlPlane = healthyControlPlane(active.controlPlaneSteps, step.node, () => true);
      const deletion =
        controlPlane && tokenDeletionAfterJoin(step, (id) => active.steps.has(id), controlPlane, active.nextSeq);
      if (deletion) this.insertSteps(active, [deletion]);
    }
  }

  private applyFailure(active: ActiveRun, step: StepRecord, failure: StepFailure, result?: StepResult): void {
    const now = this.now();
    const decision = failureDecision(step, failure, now);
    const common: StepUpdate = {
      error: failure,
      finishedAt: now,
      disconnectedAt: null,
      ...(result ? { outputs: result.outputs, changed: result.changed } : {}),
    };
    if (decision.state === 'retry-wait') {
      let dependsOn = step.dependsOn;
      if (isControlPlaneJoin(step)) {
        const controlPlane = healthyControlPlane(active.controlPlaneSteps, step.node, () => true);
        if (controlPlane) {
          const cleanup = cleanupAfterFailedControlPlaneJoin(step, active.spec, controlPlane, active.nextSeq);
          this.insertSteps(active, cleanup);
          dependsOn = [...dependsOn, ...cleanup.map((s) => s.id)];
        }
      }
      this.updateStep(active, step, {
        ...common,
        state: 'retry-wait',
        nextAttemptAt: decision.nextAttemptAt,
        dependsOn,
      });
      this.stepEventEntry(
        active,
        step,
        'retry-wait',
        `${step.id} attempt ${step.attempt} failed (${failure.code}: ${failure.message}); retrying`,
      );
      return;
    }
    this.updateStep(active, step, { ...common, state: 'failed' });
    this.stepEventEntry(
      active,
      step,
      'failed',
      `${step.id} failed${step.bestEffort ? ' (best effort, ignored)' : ''}: ${failure.code}: ${failure.message}`,
    );
    for (const s of stepsToSkip(active.steps.values())) {
      this.updateStep(active, s, { state: 'skipped' });
      this.stepEventEntry(active, s, 'skipped', `${s.id} skipped: ${step.id} failed`);
    }
  }

  private finishRun(active: ActiveRun, state: 'succeeded' | 'failed' | 'cancelled', error: string | null): void {
    const now = this.now();
    this.options.store.runs.update(active.run.id, { state, finishedAt: now, error });
    // Every join of the run is done: the init token has no use left (a later run makes a new one if it needs one).
    if (state === 'succeeded' && this.options.store.clusters.get(active.run.cluster)?.initializedAt) {
      this.options.store.clusterValues.delete(active.run.cluster, valueNames.initToken);
    }
    const succeeded = state === 'succeeded';
    const record = succeeded ? this.options.store.clusters.get(active.run.cluster) : undefined;
    if (record && active.run.kind === 'reset') {
      this.options.store.clusters.put({ ...record, initializedAt: null, appliedSpec: null, appliedAt: null });
    }
    if (record && active.run.kind === 'deploy') {
      this.options.store.clusters.put({ ...record, appliedSpec: active.spec, appliedAt: now });
    }
    const upToDate = succeeded && active.run.kind === 'deploy' && [...active.steps.values()].every((s) => !s.changed);
    active.run = { ...active.run, state, finishedAt: now, error };
    this.event(active.run.id, {
      type: 'run',
      state,
      message: upToDate
        ? `${active.run.kind} run ${state}: up to date, nothing changed on any node`
        : `${active.run.kind} run ${state}${error ? `: ${error}` : ''}`,
    });
    this.active.delete(active.run.id);
    this.logCap.forget(active.run.id);
    this.options.logger.info({ runId: active.run.id, state }, 'run finished');
  }

  private phaseFor(spec: ClusterSpec, node: string, initialized: boolean): MessageToAgent {
    const initNode = spec.spec.nodes.find((n) => n.role === 'control-plane')?.name;
    return clusterPhaseMessage({
      cluster: spec.metadata.name,
      initialized,
      initNode: node === initNode,
      endpointMode: spec.spec.endpoint.mode,
      lbPort: spec.spec.endpoint.port,
      vip: spec.spec.endpoint.vip,
      clusterCaPem: initialized ? (clusterCaPem(this.valuesOf(spec.metadata.name)) ?? '') : '',
    });
  }

  private broadcastPhase(spec: ClusterSpec, initialized: boolean): void {
    for (const node of spec.spec.nodes) {
      const agent = this.agentFor(spec, node.name);
      if (!agent) continue;
      this.outbox.send(agent.id, this.phaseFor(spec, node.name, initialized), { background: true });
    }
  }

  /** Forgets a revoked agent everywhere: its bindings and approvals are gone, and so is its place in the index. */
  agentRevoked(agentId: string): void {
    this.options.store.bindings.removeAgent(agentId);
    for (const [key, bound] of this.boundCache) if (bound === agentId) this.boundCache.delete(key);
    const agent = this.options.store.agents.get(agentId);
    if (agent && this.agentIndex) this.agentIndex.claim(agent);
  }

  /** The agent bound to the node (binding it now when an approved agent reports its address), or undefined. */
  private agentFor(spec: ClusterSpec, nodeName: string): AgentRecord | undefined {
    const node = spec.spec.nodes.find((n) => n.name === nodeName);
    if (!node) return undefined;
    const cluster = spec.metadata.name;
    const key = `${cluster}\u0000${node.name}`;
    const { bindings, agents } = this.options.store;
    if (!this.boundCache.has(key)) this.boundCache.set(key, bindings.bound(cluster, node.name) ?? null);
    const boundAgentId = this.boundCache.get(key) ?? undefined;
    this.agentIndex ??= new AgentsByAddress(agents.list());
    const resolution = resolveNodeAgent({
      claimants: this.agentIndex.claimants(node.address),
      boundAgentId,
      approved: boundAgentId === undefined ? new Set(bindings.approvedFor(node.name)) : new Set(),
      agent: (id) => agents.get(id),
    });
    if (resolution.bindNow && resolution.agent) {
      bindings.bind(cluster, node.name, resolution.agent.id, this.now());
      this.boundCache.set(key, resolution.agent.id);
      this.options.logger.info({ cluster, node: node.name, agentId: resolution.agent.id }, 'node bound to agent');
    }
    for (const claimant of resolution.claimants) this.reportClaim(cluster, node, claimant, resolution.agent);
    return resolution.agent;
  }

  /** Says once, in the log and in the cluster's active runs, that an agent reports a node's address it may not serve. */
  private reportClaim(
    cluster: string,
    node: { name: string; address: string },
    claimant: AgentRecord,
    bound: AgentRecord | undefined,
  ): void {
    const key = `${cluster}\u0000${node.name}\u0000${claimant.id}`;
    if (this.reportedClaims.has(key)) return;
    this.reportedClaims.add(key);
    const message = bound
      ? `agent ${claimant.id} (${claimant.hostname}) reports ${node.address} of node ${node.name}, which is bound to ` +
        `agent ${bound.id}: refused, nothing of ${node.name}'s is sent to it`
      : `agent ${claimant.id} (${claimant.hostname}) reports ${node.address} of node ${node.name}: a proposed binding, ` +
        `not served until approved (kubeha agents approve ${claimant.id} --node ${node.name})`;
    this.options.logger.warn({ cluster, node: node.name, agentId: claimant.id, boundTo: bound?.id ?? null }, message);
    this.record(() => {
      for (const active of this.active.values()) {
        if (active.run.cluster !== cluster) continue;
        this.event(active.run.id, { type: 'log', node: node.name, message: `warning: ${message}` });
      }
    });
  }

  private valuesOf(cluster: string): Values {
    return { get: (name) => this.options.store.clusterValues.get(cluster, name) };
  }

  private insertSteps(active: ActiveRun, steps: StepRecord[]): void {
    this.options.store.steps.insert(steps);
    for (const s of steps) {
      active.steps.set(s.id, s);
      active.nextSeq = Math.max(active.nextSeq, s.seq + 1);
      this.stepEventEntry(active, s, 'pending', `${s.id} added for ${s.forNode ?? s.node}`);
    }
  }

  private updateStep(active: ActiveRun, step: StepRecord, update: StepUpdate): void {
    this.options.store.steps.update(active.run.id, step.id, update);
    Object.assign(step, update);
  }

  private stepEventEntry(active: ActiveRun, step: StepRecord, state: string, message: string): void {
    this.event(active.run.id, {
      type: 'step',
      stepId: step.id,
      node: step.node,
      attempt: step.attempt,
      state,
      message,
    });
  }

  private event(
    runId: string,
    event: Partial<Omit<RunEvent, 'id' | 'runId' | 'at'>> & Pick<RunEvent, 'type' | 'message'>,
  ): void {
    this.pendingEvents.push(
      this.options.store.events.append({
        runId,
        at: this.now(),
        stepId: null,
        node: null,
        attempt: null,
        state: null,
        ...event,
      }),
    );
  }

  /**
   * Runs fn in one transaction (nested calls join the outer one); its events are published, and its messages to
   * agents sent, only once it has committed.
   */
  private record(fn: () => void): void {
    if (this.depth > 0) {
      fn();
      return;
    }
    this.depth++;
    this.outbox.hold();
    try {
      this.options.store.transaction(fn);
    } catch (error) {
      this.pendingEvents = [];
      this.outbox.discard();
      throw error;
    } finally {
      this.depth--;
    }
    const events = this.pendingEvents;
    this.pendingEvents = [];
    for (const e of events) this.options.bus.publish(e);
    this.outbox.release();
  }

  private deliver(agentId: string, message: MessageToAgent | (() => MessageToAgent), onFailure?: () => void): void {
    this.outbox.send(agentId, message, onFailure ? { onFailure } : {});
  }

  private reload(runId: string): void {
    const run = this.options.store.runs.get(runId);
    const cluster = run && this.options.store.clusters.get(run.cluster);
    if (!run || !cluster || run.state !== 'running') {
      this.active.delete(runId);
      return;
    }
    const steps = this.options.store.steps.list(runId);
    this.active.set(runId, activeRun(run, specForRun(cluster, run.kind), steps));
  }
}
