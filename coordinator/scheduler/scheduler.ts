import { randomUUID } from 'node:crypto';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { redactSecrets } from '../../common/redact.ts';
import type { StepEventReport, StepFailure, StepResult } from '../../common/step-events.ts';
import { type NodeFacts, runStepFor } from '../../proto/convert.ts';
import type { CoordinatorMessage } from '../../proto/generated/kubeha/v1/CoordinatorMessage.ts';
import {
  type DrillAction,
  type DrillActionReport,
  type DrillTiming,
  defaultDrillTiming,
  type FailoverDrillReport,
  runFailoverDrill,
} from '../drill/failover-drill.ts';
import { createReadyzProbe } from '../drill/readyz-probe.ts';
import { crossNodeChecks } from '../plan/cross-node-checks.ts';
import { planRun } from '../plan/plan-run.ts';
import { coordinatorNode, type PlanRun, type RunKind } from '../plan/run-plan.ts';
import { unsupportedChanges } from '../plan/spec-changes.ts';
import type { ClusterSpec } from '../spec/cluster-spec.ts';
import {
  type AgentRecord,
  notStartedStep,
  type RunEvent,
  type RunRecord,
  type StepRecord,
  type StepUpdate,
  type Store,
} from '../store/store.ts';
import { indexAgentsByAddress } from './agent-for-node.ts';
import { type AgentChannel, AgentOutbox } from './agent-outbox.ts';
import { clusterMembers, nodesWithoutAgent, specForRun } from './cluster-state.ts';
import {
  cleanupAfterFailedControlPlaneJoin,
  healthyControlPlane,
  isControlPlaneJoin,
  isJoin,
  joinCredentialGate,
  missingClusterSecrets,
  paramsForDispatch,
  tokenDeletionAfterJoin,
  type Values,
  valueNames,
} from './join-credentials.ts';
import type { RunEventBus } from './run-event-bus.ts';
import {
  failureDecision,
  inFlightFailure,
  isInFlight,
  isTerminal,
  readySteps,
  runOutcome,
  stepsToSkip,
} from './step-decisions.ts';

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

export interface DrillOptions {
  timing?: Partial<DrillTiming>;
  /** The probe of https://ENDPOINT/readyz (tests point it at a local server); caPem undefined: not verified. */
  probeFor?: (endpoint: string, caPem: string | undefined) => () => Promise<boolean>;
  /**
   * A sample with the VIP on several nodes is read again after this long before it counts: each agent reports a
   * move at its next probe tick (500 ms), so the old holder's "off" can arrive just after the new one's "on".
   */
  confirmHoldersMs?: number;
  /** How often the drill looks at an action step it waits for. */
  pollMs?: number;
}

/** The drill's restore step times out long before the drill step's own 900 s. */
const drillActionTimeoutSeconds = 300;

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
  private agentIndex: Map<string, AgentRecord> | undefined;
  private pendingEvents: RunEvent[] = [];
  private inbox: { agentId: string; event: StepEventReport }[] = [];
  private readonly outbox: AgentOutbox;
  private depth = 0;
  private kickQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** "runId/stepId" of ready steps whose agent is missing, and since when. */
  private readonly agentWaits = new Map<string, number>();
  /** "runId/stepId" of the failover drills this process is driving. */
  private readonly drills = new Set<string>();

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
        if (s.state === 'succeeded' || s.state === 'failed' || s.state === 'skipped' || s.state === 'cancelled')
          continue;
        this.updateStep(active, s, { state: 'cancelled', finishedAt: now });
      }
      this.finishRun(active, 'cancelled', 'cancelled by the operator');
    });
    for (const s of inFlight) {
      if (s.agentId) {
        this.deliver(s.agentId, { cancel_step: { run_id: runId, step_id: s.id, attempt: s.attempt } });
      }
    }
    return active.run;
  }

  /** The ClusterPhase of every cluster this agent is a node of; sent when its session opens. */
  clusterPhaseMessages(agentId: string): CoordinatorMessage[] {
    const agent = this.options.store.agents.get(agentId);
    if (!agent) return [];
    const index = indexAgentsByAddress([agent]);
    const messages: CoordinatorMessage[] = [];
    for (const cluster of this.options.store.clusters.list()) {
      const node = cluster.spec.spec.nodes.find((n) => index.has(n.address));
      if (node) messages.push(this.phaseFor(cluster.spec, node.name, cluster.initializedAt !== null));
    }
    return messages;
  }

  agentConnected(agentId: string, unacknowledged: StepEventReport[]): void {
    const agent = this.options.store.agents.get(agentId);
    if (agent && this.agentIndex) {
      // The newly connected agent wins the addresses it reports (a re-enrolled host replaces its old agent).
      for (const [address, bound] of indexAgentsByAddress([agent])) this.agentIndex.set(address, bound);
    }
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
      this.outbox.send(agentId, { ack: { run_id: event.runId, step_id: event.stepId, attempt: event.attempt } });
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
    this.event(active.run.id, {
      type: 'log',
      stepId: step.id,
      node: step.node,
      attempt: step.attempt,
      state: null,
      message: redactSecrets(event.text),
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
        if (agentId) this.deliver(agentId, { cancel_step: { run_id: active.run.id, step_id: s.id, attempt } });
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
      : `waiting for an agent that reports ${address} (${step.node})`;
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
    const message = () => ({ run_step: runStepFor(ref, kind, stepParams) });
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
    let errors: string[] = [];
    let warnings: string[] = [];
    if (step.kind === 'cross-node-checks') {
      const factsByNode = new Map<string, NodeFacts | undefined>();
      for (const node of active.spec.spec.nodes)
        factsByNode.set(node.name, this.agentFor(active.spec, node.name)?.facts);
      try {
        const findings = crossNodeChecks(active.spec, factsByNode);
        errors = findings.filter((f) => f.severity === 'error').map((f) => `${f.code}: ${f.message}`);
        warnings = findings.filter((f) => f.severity === 'warning').map((f) => `${f.code}: ${f.message}`);
      } catch (error) {
        errors = [`the checks could not run: ${(error as Error).message}`];
      }
    } else if (step.kind === 'failover-drill') {
      // The drill takes minutes: it runs alongside the scheduler and records its result when it ends.
      const key = `${active.run.id}/${step.id}`;
      if (!this.drills.has(key)) {
        this.drills.add(key);
        const runId = active.run.id;
        setImmediate(() => {
          this.driveDrill(runId, step.id, attempt)
            .catch((error) => this.options.logger.error({ err: error, runId }, 'the failover drill failed'))
            .finally(() => this.drills.delete(key));
        });
      }
      return;
    } else {
      errors = [`${step.kind} is not a step the coordinator knows`];
    }
    this.record(() => {
      for (const warning of warnings) {
        this.event(active.run.id, {
          type: 'log',
          stepId: step.id,
          node: step.node,
          attempt,
          message: `warning: ${warning}`,
        });
      }
      if (errors.length === 0) {
        this.applyResult(active, step, {
          outcome: 'succeeded',
          changed: false,
          outputs: {},
          paramsChecksum: '',
          changes: [],
        });
      } else {
        this.applyFailure(active, step, {
          code: ErrorCode.specInvalid,
          message: errors.join('; '),
          deterministic: true,
        });
      }
    });
    // What this step unlocked starts in the next pass, not at the next tick.
    this.kick();
  }

  /**
   * The failover drill (coordinator/drill/failover-drill.ts) wired to this run: each action and its restore is a
   * failover-drill-action step added to the run (stored before it is sent, like any step), the VIP holders come from
   * the agents' heartbeats, and /readyz is probed through the endpoint. The report becomes the step's outputs.
   * After a coordinator restart the step runs again: first it waits for the action steps still in flight and
   * restores every action that was applied and not restored since, then it drills from the start.
   */
  private async driveDrill(runId: string, stepId: string, attempt: number): Promise<void> {
    const initial = this.active.get(runId);
    const step = initial?.steps.get(stepId);
    if (!initial || !step) return;
    const cluster = initial.run.cluster;
    const spec = initial.spec;
    const options = this.options.drill ?? {};
    const timing: DrillTiming = { ...defaultDrillTiming, ...options.timing };
    const pollMs = options.pollMs ?? 100;
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    const candidates = ((step.params['candidates'] as { name: string }[] | undefined) ?? []).map((c) => c.name);
    const actions = ((step.params['actions'] as string[] | undefined) ?? []) as DrillAction[];
    const endpoint = String(
      step.params['controlPlaneEndpoint'] ?? `${spec.spec.endpoint.vip}:${spec.spec.endpoint.port}`,
    );
    const live = () => {
      const active = this.active.get(runId);
      if (!active || this.stopped) throw new Error(`run ${runId} is no longer running`);
      return active;
    };
    const log = (message: string) =>
      this.record(() => this.event(runId, { type: 'log', stepId, node: coordinatorNode, attempt, message }));
    const actionSteps = () =>
      [...live().steps.values()].filter((s) => s.kind === 'failover-drill-action').sort((a, b) => a.seq - b.seq);

    const runAction = async (node: string, params: { action: DrillAction; phase: 'apply' | 'restore' }) => {
      let id = '';
      this.record(() => {
        const active = live();
        const base = `${stepId}/${params.action}/${params.phase}`;
        id = base;
        for (let n = 2; active.steps.has(id); n++) id = `${base}-${n}`;
        this.insertSteps(active, [
          {
            ...step,
            id,
            seq: active.nextSeq,
            kind: 'failover-drill-action',
            node,
            dependsOn: [],
            timeoutSeconds: drillActionTimeoutSeconds,
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
      const since = Date.now();
      for (;;) {
        const current = live().steps.get(id);
        if (current?.state === 'succeeded') return;
        if (current?.state === 'pending' && Date.now() - since > drillActionTimeoutSeconds * 1000) {
          // Its agent never came: it must not run later, when nobody would restore it.
          this.record(() => {
            this.updateStep(live(), current, { state: 'cancelled', finishedAt: this.now() });
            this.stepEventEntry(live(), current, 'cancelled', `${id} cancelled: ${node} was not reachable`);
          });
          throw new Error(`${node} was not reachable for ${drillActionTimeoutSeconds} s`);
        }
        if (!current || current.state === 'failed' || current.state === 'skipped' || current.state === 'cancelled') {
          throw new Error(current?.error?.message ?? `${id} ${current?.state ?? 'vanished'}`);
        }
        await sleep(pollMs);
      }
    };

    const holdersNow = () =>
      candidates.filter((name) => {
        const agent = this.agentFor(spec, name);
        return agent !== undefined && this.options.store.agents.get(agent.id)?.holdsVip === true;
      });
    const vipHolders = async () => {
      live();
      const first = holdersNow();
      if (first.length <= 1) return first;
      await sleep(options.confirmHoldersMs ?? 1_000);
      return holdersNow();
    };

    const caPem = this.clusterCaPem(cluster);
    const probeReadyz = (options.probeFor ?? ((ep, ca) => createReadyzProbe({ endpoint: ep, caPem: ca })))(
      endpoint,
      caPem,
    );

    let report: FailoverDrillReport;
    try {
      // A drill interrupted by a coordinator restart: what it broke is put back before anything else.
      const interrupted = actionSteps();
      if (interrupted.length > 0) {
        while (actionSteps().some((s) => !isTerminal(s.state))) await sleep(pollMs);
        const broken = applyNotRestored(actionSteps());
        log(
          broken.length === 0
            ? 'the drill was interrupted (coordinator restart); nothing was left broken; starting over'
            : `the drill was interrupted (coordinator restart); restoring ${broken.map((b) => `${b.action} on ${b.node}`).join(', ')} first`,
        );
        for (const b of broken) {
          let lastError: unknown;
          for (let i = 0; i < timing.restoreAttempts; i++) {
            try {
              await runAction(b.node, { action: b.action, phase: 'restore' });
              lastError = undefined;
              break;
            } catch (error) {
              lastError = error;
            }
          }
          if (lastError !== undefined) throw new Error(`restoring ${b.action} on ${b.node} after a restart failed`);
        }
      }
      log(
        caPem
          ? `probing https://${endpoint}/readyz with the cluster CA`
          : `no cluster CA is known to the coordinator: https://${endpoint}/readyz is probed without verifying its certificate`,
      );
      report = await runFailoverDrill({ runAction, vipHolders, probeReadyz, now: Date.now, sleep }, actions, timing);
    } catch (error) {
      if (!this.active.has(runId) || this.stopped) return;
      const message = error instanceof Error ? error.message : String(error);
      this.record(() => {
        const active = live();
        const current = active.steps.get(stepId);
        if (current?.state !== 'running' || current.attempt !== attempt) return;
        this.applyFailure(active, current, { code: ErrorCode.stepFailed, message, deterministic: true });
      });
      this.kick();
      return;
    }
    if (!this.active.has(runId) || this.stopped) return;
    this.record(() => {
      const active = live();
      const current = active.steps.get(stepId);
      if (current?.state !== 'running' || current.attempt !== attempt) return;
      for (const a of report.actions) {
        this.event(runId, { type: 'log', stepId, node: coordinatorNode, attempt, message: drillSummary(a) });
      }
      const result: StepResult = {
        outcome: report.ok ? 'succeeded' : 'failed',
        changed: report.actions.length > 0,
        outputs: { report: JSON.stringify(report) },
        paramsChecksum: '',
        changes: [],
      };
      if (report.ok) this.applyResult(active, current, result);
      else {
        const problems = report.actions.flatMap((a) => a.problems);
        this.applyFailure(
          active,
          current,
          {
            code: ErrorCode.stepFailed,
            message: problems.join('; ') || 'the drill did not complete',
            deterministic: true,
          },
          result,
        );
      }
    });
    this.kick();
  }

  /**
   * The cluster CA, when the coordinator has one: the certificate kubeadm-init reported, or else the
   * certificate-authority-data of a stored admin kubeconfig.
   */
  private clusterCaPem(cluster: string): string | undefined {
    const reported = this.options.store.clusterValues.get(cluster, valueNames.caCertPem)?.value;
    if (reported) return reported;
    const kubeconfig = this.options.store.clusterValues.get(cluster, valueNames.kubeconfig)?.value;
    const data = kubeconfig && /certificate-authority-data:\s*"?([A-Za-z0-9+/=]+)/.exec(kubeconfig)?.[1];
    if (!data) return undefined;
    const pem = Buffer.from(data, 'base64').toString('utf8');
    return pem.includes('-----BEGIN CERTIFICATE-----') ? pem : undefined;
  }

  private applyResult(active: ActiveRun, step: StepRecord, result: StepResult): void {
    if (result.outcome !== 'succeeded') {
      const failure: StepFailure = result.error ?? {
        code: result.outcome === 'timed-out' ? 'KUBEHA_STEP_TIMEOUT' : ErrorCode.stepFailed,
        message: `the step ended ${result.outcome}`,
        deterministic: false,
      };
      this.applyFailure(active, step, failure, result);
      return;
    }
    const now = this.now();
    const cluster = active.run.cluster;
    const values = this.options.store.clusterValues;
    this.updateStep(active, step, {
      state: 'succeeded',
      finishedAt: now,
      changed: result.changed,
      outputs: result.outputs,
      error: null,
      disconnectedAt: null,
    });
    this.stepEventEntry(active, step, 'succeeded', `${step.id} succeeded${result.changed ? ' (changed)' : ''}`);
    const keep = (name: string, value: string, secret: boolean) =>
      values.set(cluster, name, { value, secret, updatedAt: now });
    const touch = (name: string) => {
      const current = values.get(cluster, name);
      if (current) values.set(cluster, name, { ...current, updatedAt: now });
    };
    if (step.kind === 'kubeadm-init') {
      const hash = result.outputs['caCertHash'];
      if (hash) keep(valueNames.caCertHash, hash, false);
      const caPem = result.outputs['caCertPem'];
      if (caPem?.includes('-----BEGIN CERTIFICATE-----')) keep(valueNames.caCertPem, caPem, false);
      // kubeadm init --upload-certs uploaded the certificates under this key just now (unless it was up already).
      if (result.changed) touch(valueNames.certificateKey);
      const record = this.options.store.clusters.get(cluster);
      if (record) this.options.store.clusters.put({ ...record, initializedAt: now });
      this.broadcastPhase(active.spec, true);
    }
    if (result.outputs['kubeconfig']) keep(valueNames.kubeconfig, result.outputs['kubeconfig'], true);
    if (step.kind === 'join-credentials' && step.params['action'] === 'create-token' && step.forNode) {
      touch(valueNames.joinToken(step.forNode));
    }
    if (step.kind === 'join-credentials' && step.params['action'] === 'upload-certs') touch(valueNames.certificateKey);
    if (step.kind === 'join-credentials' && step.params['action'] === 'delete-token' && step.forNode) {
      values.delete(cluster, valueNames.joinToken(step.forNode));
      values.delete(cluster, valueNames.joinTokenId(step.forNode));
    }
    if (isJoin(step)) {
      // The joined node's token is no longer needed; only its id stays, to delete it from the cluster.
      const token = values.get(cluster, valueNames.joinToken(step.node));
      if (token) {
        keep(valueNames.joinTokenId(step.node), token.value.slice(0, 6), false);
        values.delete(cluster, valueNames.joinToken(step.node));
      }
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
    this.options.logger.info({ runId: active.run.id, state }, 'run finished');
  }

  private phaseFor(spec: ClusterSpec, node: string, initialized: boolean): CoordinatorMessage {
    const initNode = spec.spec.nodes.find((n) => n.role === 'control-plane')?.name;
    return {
      cluster_phase: {
        cluster: spec.metadata.name,
        initialized,
        init_node: node === initNode,
        endpoint_mode: spec.spec.endpoint.mode,
        lb_port: spec.spec.endpoint.port,
        vip: spec.spec.endpoint.vip,
        cluster_ca_pem: initialized ? (this.clusterCaPem(spec.metadata.name) ?? '') : '',
      },
    };
  }

  private broadcastPhase(spec: ClusterSpec, initialized: boolean): void {
    for (const node of spec.spec.nodes) {
      const agent = this.agentFor(spec, node.name);
      if (!agent) continue;
      this.outbox.send(agent.id, this.phaseFor(spec, node.name, initialized), { background: true });
    }
  }

  private agentFor(spec: ClusterSpec, nodeName: string): AgentRecord | undefined {
    const node = spec.spec.nodes.find((n) => n.name === nodeName);
    if (!node) return undefined;
    this.agentIndex ??= indexAgentsByAddress(this.options.store.agents.list());
    return this.agentIndex.get(node.address);
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

  private deliver(
    agentId: string,
    message: CoordinatorMessage | (() => CoordinatorMessage),
    onFailure?: () => void,
  ): void {
    this.outbox.send(agentId, message, onFailure ? { onFailure } : {});
  }

  private reload(runId: string): void {
    const run = this.options.store.runs.get(runId);
    const cluster = run && this.options.store.clusters.get(run.cluster);
    if (!run || !cluster || (run.state !== 'running' && run.state !== 'cancelling')) {
      this.active.delete(runId);
      return;
    }
    const steps = this.options.store.steps.list(runId);
    this.active.set(runId, activeRun(run, specForRun(cluster, run.kind), steps));
  }
}

/** Actions whose last apply step ran (or may have) after their last successful restore, with the node it ran on. */
export function applyNotRestored(steps: StepRecord[]): { action: DrillAction; node: string }[] {
  const out: { action: DrillAction; node: string }[] = [];
  const byAction = new Map<string, StepRecord[]>();
  for (const s of [...steps].sort((a, b) => a.seq - b.seq)) {
    const action = String(s.params['action']);
    byAction.set(action, [...(byAction.get(action) ?? []), s]);
  }
  for (const [action, list] of byAction) {
    const applied = list.filter((s) => s.params['phase'] === 'apply' && s.attempt > 0).at(-1);
    const restored = list.filter((s) => s.params['phase'] === 'restore' && s.state === 'succeeded').at(-1);
    if (applied && (!restored || restored.seq < applied.seq))
      out.push({ action: action as DrillAction, node: applied.node });
  }
  return out;
}

/** One readable line per action of the drill. */
export function drillSummary(a: DrillActionReport): string {
  const moved = a.vipMovedTo
    ? `the VIP moved from ${a.initialHolder} to ${a.vipMovedTo}`
    : `the VIP stayed on ${a.initialHolder ?? 'no node'}`;
  const recovered =
    a.recoveredAfterRestoreMs === undefined
      ? 'not recovered after the restore'
      : `recovered ${a.recoveredAfterRestoreMs} ms after the restore`;
  return `drill ${a.action}${a.initialHolder ? ` on ${a.initialHolder}` : ''}: ${a.ok ? 'ok' : 'FAILED'}; /readyz through the endpoint failed ${a.readyzDowntimeMs} ms (longest gap ${a.longestOutageMs} ms); ${moved}; at most ${a.maxSimultaneousHolders} VIP holder(s) at once; ${recovered}${a.problems.length > 0 ? `; problems: ${a.problems.join('; ')}` : ''}`;
}
