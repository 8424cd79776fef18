import { ErrorCode } from '../../common/errors.ts';
import { formatHostPort } from '../../common/format-host-port.ts';
import type { Logger } from '../../common/logger.ts';
import { redactSecrets } from '../../common/redact.ts';
import type { StepEventReport, StepFailure, StepResult } from '../../common/step-events.ts';
import { ackMessage } from '../../proto/convert.ts';
import type { StepRecord, StepUpdate, Store } from '../store/store.ts';
import type { ActiveRun, ActiveRuns } from './active-run.ts';
import type { ClusterPhases } from './cluster-phase.ts';
import { valueChangesAfterSuccess } from './cluster-values.ts';
import {
  cleanupAfterFailedControlPlaneJoin,
  healthyControlPlane,
  isControlPlaneJoin,
  isJoin,
  tokenDeletionAfterJoin,
} from './join-credentials.ts';
import type { RunJournal } from './run-journal.ts';
import type { SchedulerObserver } from './scheduler-observer.ts';
import { failureDecision, isInFlight, resultMayUnlock, stepsToSkip } from './step-decisions.ts';
import type { StepLogCap } from './step-log-cap.ts';
import { trustedOutputs } from './trusted-outputs.ts';

/** The output under which a plan run keeps a step's dry-run list of changes (JSON array of strings). */
export const plannedChangesOutput = 'plannedChanges';

/** Says whether a succeeded etcd-snapshot step's snapshot was kept (coordinator/etcd/snapshot-intake.ts). */
export interface EtcdSnapshotSettler {
  settle(cluster: string, step: StepRecord): { failure?: StepFailure; notes: string[] };
}

export interface AgentEvent {
  agentId: string;
  event: StepEventReport;
}

/** How long "started" events and log lines may wait to be stored with others (the live view shows them this late). */
const quietEventsMs = 200;

/**
 * What comes back from steps: the agents' events (started, log lines, results) and the coordinator's own verdicts,
 * stored with what they change (the cluster's values, the retries and skips a failure brings), then acknowledged.
 */
export class ResultIntake {
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly journal: RunJournal;
  private readonly runs: ActiveRuns;
  private readonly phases: ClusterPhases;
  private readonly logCap: StepLogCap;
  private readonly now: () => number;
  /** Starts what a batch of results unlocked. */
  private readonly advance: () => void;
  /** Reads a run back from the store after a batch could not be stored. */
  private readonly reload: (runId: string) => void;
  private readonly observer: SchedulerObserver | undefined;
  private readonly snapshots: EtcdSnapshotSettler | undefined;
  private inbox: AgentEvent[] = [];
  /** A batch is due at the next turn (it holds a result). */
  private batchSoon = false;
  /** A batch of only "started" events and log lines is due when this fires. */
  private batchLater: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(deps: {
    store: Store;
    logger: Logger;
    journal: RunJournal;
    runs: ActiveRuns;
    phases: ClusterPhases;
    logCap: StepLogCap;
    now: () => number;
    advance: () => void;
    reload: (runId: string) => void;
    observer?: SchedulerObserver;
    snapshots?: EtcdSnapshotSettler;
  }) {
    this.observer = deps.observer;
    this.snapshots = deps.snapshots;
    this.store = deps.store;
    this.logger = deps.logger;
    this.journal = deps.journal;
    this.runs = deps.runs;
    this.phases = deps.phases;
    this.logCap = deps.logCap;
    this.now = deps.now;
    this.advance = deps.advance;
    this.reload = deps.reload;
  }

  /**
   * Events are applied in batches, in the order they came, then acknowledged: a batch with a result at the next turn
   * of the event loop; "started" events and log lines alone up to quietEventsMs later, with the next result at the
   * latest. A wave of a thousand steps starting would otherwise write a thousand rows in many small transactions while
   * the rest of the wave's RunSteps are still leaving.
   */
  stepEvent(agentId: string, event: StepEventReport): void {
    this.inbox.push({ agentId, event });
    if (this.batchSoon) return;
    if (event.type === 'finished' || this.stopped) {
      this.batchSoon = true;
      clearTimeout(this.batchLater);
      this.batchLater = undefined;
      setImmediate(() => this.applyInbox());
    } else {
      this.batchLater ??= setTimeout(() => this.applyInbox(), quietEventsMs);
    }
  }

  /** Applies what is held now; from here on every event is applied at the next turn, as the store is about to close. */
  stop(): void {
    this.stopped = true;
    if (this.batchLater === undefined) return;
    clearTimeout(this.batchLater);
    this.applyInbox();
  }

  private applyInbox(): void {
    this.batchSoon = false;
    this.batchLater = undefined;
    this.applyEvents(this.inbox.splice(0));
  }

  /** Applies and acknowledges a batch; `advance` false leaves starting what it unlocked to the caller. */
  applyEvents(batch: AgentEvent[], advance = true): void {
    if (batch.length === 0) return;
    const acks: AgentEvent[] = [];
    const unlocked = { any: false };
    try {
      this.journal.record(() => {
        for (const { agentId, event } of batch) {
          if (this.applyEvent(agentId, event, unlocked)) acks.push({ agentId, event });
        }
      });
    } catch (error) {
      this.logger.error({ err: error }, 'could not store agent events; they are applied when re-sent');
      for (const { event } of batch) this.reload(event.runId);
      return;
    }
    // Only what is stored is acknowledged: an agent keeps anything else in its spool and sends it again.
    for (const { agentId, event } of acks) this.journal.deliver(agentId, ackMessage(event));
    // The batch is one turn's worth of results: start what they unlocked now rather than a turn later. Only a result
    // that may unlock something is worth a pass, which walks every step of the run: not a "started" event, not most
    // of a wave of results (the scheduler's tick makes a pass anyway).
    if (advance && unlocked.any) this.advance();
  }

  /**
   * Applies one agent event inside the caller's transaction; true when it is a result to acknowledge. Sets
   * `unlocked.any` when it is a result that may let a step start or the run end (resultMayUnlock).
   */
  private applyEvent(agentId: string, event: StepEventReport, unlocked: { any: boolean }): boolean {
    const active = this.runs.get(event.runId);
    const step = active?.steps.get(event.stepId);
    if (!active || !step) return event.type === 'finished';
    if (step.agentId !== agentId) {
      this.logger.warn({ agentId, runId: event.runId, stepId: event.stepId }, 'event from another agent ignored');
      return false;
    }
    const current = step.attempt === event.attempt && isInFlight(step.state);
    if (event.type === 'finished') {
      if (current) {
        this.applyResult(active, step, event.result);
        // A step a result adds (a join's token deletion) has nothing waiting for it: it starts at the next pass.
        unlocked.any ||= resultMayUnlock(active.steps, active.dependents, step, this.now());
      }
      return true;
    }
    if (!current) return false;
    if (event.type === 'started') {
      if (step.state === 'dispatched') {
        this.journal.updateStep(active, step, { state: 'running', startedAt: this.now() });
        this.journal.stepEvent(active, step, 'running', `${step.id} started on ${step.node}`);
      }
      return false;
    }
    const admitted = this.logCap.admit(active.run.id, step.id, step.attempt, event.text);
    if (admitted === undefined) return false;
    this.journal.event(active.run.id, {
      type: 'log',
      stepId: step.id,
      node: step.node,
      attempt: step.attempt,
      state: null,
      message: redactSecrets(admitted),
    });
    return false;
  }

  applyResult(active: ActiveRun, step: StepRecord, result: StepResult): void {
    if (result.outcome !== 'succeeded') {
      const failure: StepFailure = result.error ?? {
        code: result.outcome === 'timed-out' ? ErrorCode.stepTimeout : ErrorCode.stepFailed,
        message: `the step ended ${result.outcome}`,
        deterministic: false,
      };
      this.applyFailure(active, step, failure, result);
      return;
    }
    let notes: string[] = [];
    if (step.kind === 'etcd-snapshot' && active.run.kind !== 'plan') {
      // The agent only knows it sent the snapshot; whether it was kept is the coordinator's to say.
      const settled = this.snapshots?.settle(active.run.cluster, step) ?? {
        failure: { code: ErrorCode.internal, message: 'this coordinator keeps no etcd snapshots', deterministic: true },
        notes: [],
      };
      if (settled.failure) {
        this.applyFailure(active, step, settled.failure, { ...result, outcome: 'failed', error: settled.failure });
        return;
      }
      notes = settled.notes;
    }
    const now = this.now();
    const cluster = active.run.cluster;
    const { endpoint } = active.spec.spec;
    const trusted = trustedOutputs(step.kind, result.outputs, formatHostPort(endpoint.vip, endpoint.port));
    for (const { name, reason } of trusted.refused) {
      const message = `${step.id} on ${step.node} reported output ${name}: ${reason}; not kept`;
      this.logger.warn({ runId: active.run.id, stepId: step.id, agentId: step.agentId, output: name }, message);
      this.journal.event(active.run.id, {
        type: 'log',
        stepId: step.id,
        node: step.node,
        message: `warning: ${message}`,
      });
    }
    this.observer?.stepAttemptFinished(step.kind, 'succeeded', attemptSeconds(step, now));
    const dryRun = active.run.kind === 'plan';
    // A dry run's result is what would change; nothing of it may reach the cluster's values.
    const kept = dryRun
      ? { ...result, outputs: { ...trusted.accepted, [plannedChangesOutput]: JSON.stringify(result.changes) } }
      : { ...result, outputs: trusted.accepted };
    this.journal.updateStep(active, step, {
      state: 'succeeded',
      finishedAt: now,
      changed: kept.changed,
      outputs: kept.outputs,
      error: null,
      disconnectedAt: null,
    });
    this.journal.stepEvent(
      active,
      step,
      'succeeded',
      dryRun
        ? `${step.id}: ${result.changes.length === 0 ? 'up to date' : `would change ${result.changes.join('; ')}`}`
        : `${step.id} succeeded${kept.changed ? ' (changed)' : ''}`,
    );
    for (const message of notes)
      this.journal.event(active.run.id, { type: 'log', stepId: step.id, node: step.node, message });
    if (dryRun) return;
    const changes = valueChangesAfterSuccess(step, kept, this.journal.valuesOf(cluster), now);
    for (const [name, value] of changes.set) this.store.clusterValues.set(cluster, name, value);
    for (const name of changes.remove) this.store.clusterValues.delete(cluster, name);
    if (changes.initialized) {
      const record = this.store.clusters.get(cluster);
      if (record) this.store.clusters.put({ ...record, initializedAt: now });
      this.phases.broadcast(active.spec, true);
    }
    if (isJoin(step)) {
      const controlPlane = healthyControlPlane(active.controlPlaneSteps, step.node, () => true);
      const deletion =
        controlPlane && tokenDeletionAfterJoin(step, (id) => active.steps.has(id), controlPlane, active.nextSeq);
      if (deletion) this.journal.insertSteps(active, [deletion]);
    }
  }

  /** A failed attempt: retried later (after a control-plane join's cleanup), or failed with the steps it blocks. */
  applyFailure(active: ActiveRun, step: StepRecord, failure: StepFailure, result?: StepResult): void {
    const now = this.now();
    const decision = failureDecision(step, failure, now);
    const outcome = result?.outcome ?? (failure.code === ErrorCode.stepTimeout ? 'timed-out' : 'failed');
    this.observer?.stepAttemptFinished(step.kind, outcome, attemptSeconds(step, now));
    this.observer?.stepFailed(step.kind, failure.code);
    if (decision.state === 'retry-wait') this.observer?.stepRetrying(step.kind);
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
          this.journal.insertSteps(active, cleanup);
          dependsOn = [...dependsOn, ...cleanup.map((s) => s.id)];
        }
      }
      this.journal.updateStep(active, step, {
        ...common,
        state: 'retry-wait',
        nextAttemptAt: decision.nextAttemptAt,
        dependsOn,
      });
      this.journal.stepEvent(
        active,
        step,
        'retry-wait',
        `${step.id} attempt ${step.attempt} failed (${failure.code}: ${failure.message}); retrying`,
      );
      return;
    }
    this.journal.updateStep(active, step, { ...common, state: 'failed' });
    this.journal.stepEvent(
      active,
      step,
      'failed',
      `${step.id} failed${step.bestEffort ? ' (best effort, ignored)' : ''}: ${failure.code}: ${failure.message}`,
    );
    for (const s of stepsToSkip(active.steps.values())) {
      this.journal.updateStep(active, s, { state: 'skipped' });
      this.journal.stepEvent(active, s, 'skipped', `${s.id} skipped: ${step.id} failed`);
    }
  }
}

function attemptSeconds(step: StepRecord, now: number): number {
  return step.dispatchedAt === null ? 0 : (now - step.dispatchedAt) / 1000;
}
