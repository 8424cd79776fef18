import { ErrorCode } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { StepResult } from '../../common/step-events.ts';
import type { DrillOptions } from '../drill/drive-drill.ts';
import type { StepRecord, Store } from '../store/store.ts';
import type { ActiveRun, ActiveRuns } from './active-run.ts';
import { clusterCaPem } from './cluster-values.ts';
import type { CoordinatorStepContext, CoordinatorStepVerdict } from './coordinator-steps/coordinator-step.ts';
import { coordinatorStepDefinition } from './coordinator-steps/coordinator-step-registry.ts';
import { drillRunFor } from './drill-run.ts';
import type { NodeAgents } from './node-agents.ts';
import type { ResultIntake } from './result-intake.ts';
import type { RunJournal } from './run-journal.ts';

/**
 * Runs the steps whose node is the coordinator: checks within the pass, the failover drill in the background; either
 * way the verdict is recorded like an agent's result.
 */
export class CoordinatorStepRunner {
  private readonly store: Store;
  private readonly journal: RunJournal;
  private readonly runs: ActiveRuns;
  private readonly intake: ResultIntake;
  private readonly nodeAgents: NodeAgents;
  private readonly logger: Logger;
  private readonly drillOptions: DrillOptions;
  private readonly now: () => number;
  private readonly isStopped: () => boolean;
  private readonly kick: () => void;
  /** "runId/stepId" of the coordinator's own steps running in the background (the failover drill). */
  private readonly background = new Set<string>();

  constructor(deps: {
    store: Store;
    journal: RunJournal;
    runs: ActiveRuns;
    intake: ResultIntake;
    nodeAgents: NodeAgents;
    logger: Logger;
    drillOptions: DrillOptions;
    now: () => number;
    isStopped: () => boolean;
    kick: () => void;
  }) {
    this.store = deps.store;
    this.journal = deps.journal;
    this.runs = deps.runs;
    this.intake = deps.intake;
    this.nodeAgents = deps.nodeAgents;
    this.logger = deps.logger;
    this.drillOptions = deps.drillOptions;
    this.now = deps.now;
    this.isStopped = deps.isStopped;
    this.kick = deps.kick;
  }

  run(active: ActiveRun, step: StepRecord, attempt: number, now: number): void {
    this.journal.record(() => {
      this.journal.updateStep(active, step, {
        state: 'running',
        attempt,
        dispatchedAt: now,
        startedAt: now,
        agentId: null,
      });
      this.journal.stepEvent(active, step, 'running', `${step.id} started in the coordinator`);
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
      this.recordVerdict(runId, step.id, attempt, definition.run(this.context(active, step, attempt)));
      return;
    }
    // It takes minutes: it runs alongside the scheduler, outside this pass's transaction, and records its verdict
    // when it ends.
    const key = `${runId}/${step.id}`;
    if (this.background.has(key)) return;
    this.background.add(key);
    setImmediate(() => {
      const live = this.runs.get(runId);
      const current = live?.steps.get(step.id);
      if (!live || !current) {
        this.background.delete(key);
        return;
      }
      definition
        .run(this.context(live, current, attempt))
        .then((verdict) => this.recordVerdict(runId, current.id, attempt, verdict))
        .catch((error) => this.logger.error({ err: error, runId, stepId: current.id }, `${current.kind} failed`))
        .finally(() => this.background.delete(key));
    });
  }

  private context(active: ActiveRun, step: StepRecord, attempt: number): CoordinatorStepContext {
    return {
      spec: active.spec,
      step,
      factsOf: (node) => this.nodeAgents.agentFor(active.spec, node)?.facts,
      agentOf: (node) => {
        const agent = this.nodeAgents.agentFor(active.spec, node);
        return agent && (this.store.agents.get(agent.id) ?? agent);
      },
      clusterCaPem: () => clusterCaPem(this.journal.valuesOf(active.run.cluster)),
      drillRun: drillRunFor({
        runId: active.run.id,
        drillStep: step,
        attempt,
        runs: this.runs,
        store: this.store,
        journal: this.journal,
        nodeAgents: this.nodeAgents,
        now: this.now,
        isStopped: this.isStopped,
        kick: this.kick,
      }),
      drillOptions: this.drillOptions,
    };
  }

  /** Records the verdict of a coordinator step, unless the run or the step's attempt has moved on meanwhile. */
  private recordVerdict(runId: string, stepId: string, attempt: number, verdict: CoordinatorStepVerdict): void {
    if (!this.runs.has(runId) || this.isStopped()) return;
    this.journal.record(() => {
      const active = this.runs.get(runId);
      const current = active?.steps.get(stepId);
      if (!active || current?.state !== 'running' || current.attempt !== attempt) return;
      for (const message of verdict.log) {
        this.journal.event(runId, { type: 'log', stepId, node: current.node, attempt, message });
      }
      const result: StepResult | undefined = verdict.outputs && {
        outcome: verdict.failure ? 'failed' : 'succeeded',
        changed: verdict.changed,
        outputs: verdict.outputs,
        paramsChecksum: '',
        changes: [],
      };
      if (verdict.failure) {
        this.intake.applyFailure(active, current, { ...verdict.failure, deterministic: true }, result);
      } else {
        this.intake.applyResult(
          active,
          current,
          result ?? { outcome: 'succeeded', changed: verdict.changed, outputs: {}, paramsChecksum: '', changes: [] },
        );
      }
    });
    // What this step unlocked starts in the next pass, not at the next tick.
    this.kick();
  }
}
