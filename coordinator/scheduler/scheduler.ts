import type { Logger } from '../../common/logger.ts';
import type { StepEventReport } from '../../common/step-events.ts';
import { cancelStepMessage, type MessageToAgent } from '../../proto/convert.ts';
import type { DrillOptions } from '../drill/drive-drill.ts';
import type { PlanRun, RunKind } from '../plan/run-plan.ts';
import type { RunRecord, StepRecord, Store } from '../store/store.ts';
import type { ActiveRun, ActiveRuns } from './active-run.ts';
import { type AgentChannel, AgentOutbox, cancelPriority } from './agent-outbox.ts';
import { ClusterPhases } from './cluster-phase.ts';
import { CoordinatorStepRunner } from './coordinator-step-runner.ts';
import { NodeAgents } from './node-agents.ts';
import { type EtcdSnapshotSettler, ResultIntake } from './result-intake.ts';
import type { RunEventBus } from './run-event-bus.ts';
import { RunJournal } from './run-journal.ts';
import { RunLifecycle, type RunStartOptions } from './run-lifecycle.ts';
import type { SchedulerObserver } from './scheduler-observer.ts';
import { inFlightFailure, isInFlight, readySteps } from './step-decisions.ts';
import { type SendRestoreSnapshot, StepDispatch } from './step-dispatch.ts';
import { StepLogCap } from './step-log-cap.ts';

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
  /** Told of passes, step attempts, retries and failures (the coordinator's metrics). */
  observer?: SchedulerObserver;
  /** Says whether an etcd-snapshot step's snapshot was kept; without it such a step fails. */
  snapshots?: EtcdSnapshotSettler;
  /** Sends the snapshot an etcd-restore step restores to its agent, before the step; without it the step waits in vain. */
  sendRestoreSnapshot?: SendRestoreSnapshot;
  /** Lines every run of the cluster starts with, after its first event (the certificate warnings). */
  runStartNotes?: (cluster: string) => string[];
}

/**
 * Ready steps started in a run's first pass of a wave: each slice is committed and sent before the next pass. While
 * ready steps are left over, each further pass takes twice as many (up to maxStartSlice): a wave of a thousand steps
 * leaves in 5 passes instead of 16, each pass walking every step of the run.
 */
const startSlice = 64;
const maxStartSlice = 1024;

/**
 * Walks every unfinished run's DAG. Every transition is written to the store (with its event) before it is acted
 * on: a RunStep is sent only after the step is recorded as dispatched, an Ack only after the result is stored.
 * The decisions themselves are the pure functions of step-decisions.ts and join-credentials.ts; the parts are
 * run-lifecycle.ts (start, resume, cancel, finish), step-dispatch.ts (starting steps, agents coming and going),
 * result-intake.ts (events and results), coordinator-step-runner.ts, cluster-phase.ts and node-agents.ts, all
 * writing through run-journal.ts.
 */
export class Scheduler {
  private readonly options: SchedulerOptions;
  private readonly now: () => number;
  private readonly runs: ActiveRuns = new Map<string, ActiveRun>();
  private readonly journal: RunJournal;
  private readonly nodeAgents: NodeAgents;
  private readonly phases: ClusterPhases;
  private readonly lifecycle: RunLifecycle;
  private readonly intake: ResultIntake;
  private readonly dispatch: StepDispatch;
  /** The slice of each run's next pass while a wave is leaving; absent: startSlice. */
  private readonly slices = new WeakMap<ActiveRun, number>();
  private kickQueued = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: SchedulerOptions) {
    this.options = options;
    const now = options.now ?? Date.now;
    this.now = now;
    const { store, logger } = options;
    const runs = this.runs;
    const kick = () => this.kick();
    const isStopped = () => this.stopped;
    const logCap = new StepLogCap();
    const journal = new RunJournal({ store, bus: options.bus, outbox: new AgentOutbox(options.agents), now });
    const nodeAgents = new NodeAgents({ store, logger, journal, runs, now });
    const phases = new ClusterPhases({ store, journal, nodeAgents });
    const lifecycle = new RunLifecycle({
      store,
      logger,
      journal,
      runs,
      phases,
      unbind: (cluster, node) => nodeAgents.unbind(cluster, node),
      logCap,
      ...(options.planRun ? { planRun: options.planRun } : {}),
      ...(options.runStartNotes ? { runStartNotes: options.runStartNotes } : {}),
      now,
      kick,
    });
    const intake = new ResultIntake({
      store,
      logger,
      journal,
      runs,
      phases,
      logCap,
      now,
      advance: () => this.pass(),
      reload: (runId) => lifecycle.reload(runId),
      ...(options.observer ? { observer: options.observer } : {}),
      ...(options.snapshots ? { snapshots: options.snapshots } : {}),
    });
    const coordinatorSteps = new CoordinatorStepRunner({
      store,
      journal,
      runs,
      intake,
      nodeAgents,
      logger,
      drillOptions: options.drill ?? {},
      now,
      isStopped,
      kick,
    });
    this.dispatch = new StepDispatch({
      journal,
      runs,
      agents: options.agents,
      nodeAgents,
      intake,
      coordinatorSteps,
      store,
      agentWaitMs: options.agentWaitMs ?? 600_000,
      kick,
      ...(options.sendRestoreSnapshot ? { sendSnapshot: options.sendRestoreSnapshot } : {}),
    });
    this.dispatch.onSnapshotFailure = (error, stepId) =>
      logger.warn(
        { err: error, stepId },
        'could not send the etcd snapshot for a restore; the step will fail and be retried',
      );
    this.journal = journal;
    this.nodeAgents = nodeAgents;
    this.phases = phases;
    this.lifecycle = lifecycle;
    this.intake = intake;
  }

  /** Resumes every unfinished run; dispatched steps are re-sent (same id and attempt) once their agent is back. */
  start(): void {
    this.lifecycle.resumeAll(this.options.resumeGraceMs ?? 30_000);
    this.timer = setInterval(() => this.kick(), this.options.tickMs ?? 250);
    this.timer.unref();
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.intake.stop();
  }

  /**
   * Plans and starts a run. Refused (409) when the cluster is busy, when a deploy asks for a change the plan cannot
   * make, and, unless `waitForAgents`, when a node has no enrolled agent (a verify run reports such nodes instead).
   * `startedBecause`: the coordinator starts it by itself, and its first event says why.
   */
  startRun(clusterName: string, kind: RunKind, options: RunStartOptions = {}): RunRecord {
    return this.lifecycle.startRun(clusterName, kind, options);
  }

  /** A step of a run in progress, with its cluster, while it is out on an agent; undefined otherwise. */
  inFlightStep(runId: string, stepId: string): { cluster: string; step: StepRecord } | undefined {
    const active = this.runs.get(runId);
    const step = active?.steps.get(stepId);
    return active && step && isInFlight(step.state) ? { cluster: active.run.cluster, step } : undefined;
  }

  /** Whether the cluster has a run in progress (its id), so that no second one is started. */
  activeRunOf(cluster: string): string | undefined {
    for (const active of this.runs.values()) if (active.run.cluster === cluster) return active.run.id;
    return undefined;
  }

  /** Cancels the run: pending steps never start, in-flight steps are told to stop; late results are ignored. */
  cancel(runId: string): RunRecord {
    return this.lifecycle.cancel(runId);
  }

  /** The ClusterPhase of every cluster this agent is a node of; sent when its session opens. */
  clusterPhaseMessages(agentId: string): MessageToAgent[] {
    return this.phases.messagesFor(agentId);
  }

  agentConnected(agentId: string, unacknowledged: StepEventReport[]): void {
    this.nodeAgents.connected(agentId);
    this.intake.applyEvents(
      unacknowledged.map((event) => ({ agentId, event })),
      false,
    );
    this.dispatch.agentConnected(agentId, this.now());
    this.kick();
  }

  agentDisconnected(agentId: string): void {
    this.dispatch.agentDisconnected(agentId, this.now());
  }

  /** Events are applied in batches (one transaction per event-loop turn), then acknowledged. */
  stepEvent(agentId: string, event: StepEventReport): void {
    this.intake.stepEvent(agentId, event);
  }

  /** Forgets a revoked agent everywhere: its bindings and approvals are gone, and so is its place in the index. */
  agentRevoked(agentId: string): void {
    this.nodeAgents.revoked(agentId);
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
    const started = performance.now();
    for (const active of [...this.runs.values()]) {
      try {
        this.advance(active);
      } catch (error) {
        this.options.logger.error({ err: error, runId: active.run.id }, 'scheduler pass failed; reloading the run');
        this.lifecycle.reload(active.run.id);
      }
    }
    this.options.observer?.passFinished((performance.now() - started) / 1000);
  }

  private advance(active: ActiveRun): void {
    const now = this.now();
    const disconnectGraceMs = this.options.disconnectGraceMs ?? 30_000;
    this.journal.record(() => {
      for (const s of active.steps.values()) {
        const failure = inFlightFailure(s, now, disconnectGraceMs);
        if (!failure) continue;
        const { agentId, attempt } = s;
        this.intake.applyFailure(active, s, failure);
        if (agentId) {
          this.journal.deliver(agentId, cancelStepMessage({ runId: active.run.id, stepId: s.id, attempt }), {
            priority: cancelPriority,
          });
        }
      }
    });
    // At most a slice per pass, committed and sent before the next pass: the first steps of a wide wave (the control
    // planes come first in the plan) leave without waiting for a thousand others.
    const ready = readySteps(active.steps, now, active.heights);
    const slice = this.slices.get(active) ?? startSlice;
    const [tallest, ...others] = ready.slice(0, slice);
    // The tallest ready step heads the longest chain left: its RunStep leaves before the rest of the slice is stored
    // (when kubeadm-init succeeds, cni goes out before a thousand worker joins have made their credential steps).
    if (tallest) this.journal.record(() => this.dispatch.startStep(active, tallest, now));
    if (others.length > 0) {
      this.journal.record(() => {
        for (const s of others) this.dispatch.startStep(active, s, now);
      });
    }
    if (ready.length > slice) {
      this.slices.set(active, Math.min(slice * 2, maxStartSlice));
      this.kick();
    } else {
      this.slices.delete(active);
    }
    this.journal.record(() => this.lifecycle.finishIfDone(active));
  }
}
