import { ErrorCode } from '../../common/errors.ts';
import { runStepMessage } from '../../proto/convert.ts';
import { coordinatorNode } from '../plan/run-plan.ts';
import type { AgentRecord, StepRecord, Store } from '../store/store.ts';
import type { ActiveRun, ActiveRuns } from './active-run.ts';
import type { AgentChannel } from './agent-outbox.ts';
import { paramsForDispatch } from './cluster-values.ts';
import type { CoordinatorStepRunner } from './coordinator-step-runner.ts';
import { healthyControlPlane, isJoin, joinCredentialGate } from './join-credentials.ts';
import type { NodeAgents } from './node-agents.ts';
import { dryRunValues } from './plan-values.ts';
import type { ResultIntake } from './result-intake.ts';
import type { RunJournal } from './run-journal.ts';
import { isInFlight } from './step-decisions.ts';

/**
 * Starts ready steps: on the node's agent once it is connected (after the join credentials a join needs), or in the
 * coordinator for its own steps. A step is recorded as dispatched before its RunStep leaves.
 */
export class StepDispatch {
  private readonly journal: RunJournal;
  private readonly runs: ActiveRuns;
  private readonly agents: AgentChannel;
  private readonly nodeAgents: NodeAgents;
  private readonly intake: ResultIntake;
  private readonly coordinatorSteps: CoordinatorStepRunner;
  private readonly store: Store;
  private readonly agentWaitMs: number;
  private readonly kick: () => void;
  private readonly sendSnapshot: SendRestoreSnapshot | undefined;
  /** "runId/stepId" of ready steps whose agent is missing, and since when. */
  private readonly agentWaits = new Map<string, number>();

  constructor(deps: {
    journal: RunJournal;
    runs: ActiveRuns;
    agents: AgentChannel;
    nodeAgents: NodeAgents;
    intake: ResultIntake;
    coordinatorSteps: CoordinatorStepRunner;
    store: Store;
    agentWaitMs: number;
    kick: () => void;
    sendSnapshot?: SendRestoreSnapshot;
  }) {
    this.sendSnapshot = deps.sendSnapshot;
    this.journal = deps.journal;
    this.runs = deps.runs;
    this.agents = deps.agents;
    this.nodeAgents = deps.nodeAgents;
    this.intake = deps.intake;
    this.coordinatorSteps = deps.coordinatorSteps;
    this.store = deps.store;
    this.agentWaitMs = deps.agentWaitMs;
    this.kick = deps.kick;
  }

  startStep(active: ActiveRun, step: StepRecord, now: number): void {
    const attempt = step.attempt + 1;
    if (step.node === coordinatorNode) {
      this.coordinatorSteps.run(active, step, attempt, now);
      return;
    }
    const agent = this.nodeAgents.agentFor(active.spec, step.node, active.removedNodes);
    if (!agent || !this.agents.isConnected(agent.id)) {
      this.waitForAgent(active, step, agent, now);
      return;
    }
    this.agentWaits.delete(`${active.run.id}/${step.id}`);
    const dryRun = active.run.kind === 'plan';
    const values = dryRun
      ? dryRunValues(this.journal.valuesOf(active.run.cluster))
      : this.journal.valuesOf(active.run.cluster);
    // A dry run of a join makes no credentials: it is sent with stand-ins and only reads the node.
    if (isJoin(step) && step.state !== 'preparing' && !dryRun) {
      const controlPlane = healthyControlPlane(active.controlPlaneSteps, step.node, (n) => {
        const a = this.nodeAgents.agentFor(active.spec, n);
        return a !== undefined && this.agents.isConnected(a.id);
      });
      if (!controlPlane) {
        this.journal.record(() =>
          this.intake.applyFailure(active, step, {
            code: ErrorCode.stepFailed,
            message: 'no healthy control plane to make join credentials on',
            deterministic: true,
          }),
        );
        return;
      }
      const gate = joinCredentialGate(step, (id) => active.steps.has(id), values, controlPlane, now, active.nextSeq);
      if (gate.steps.length > 0) {
        this.journal.record(() => {
          for (const [name, value] of gate.values) this.store.clusterValues.set(active.run.cluster, name, value);
          this.journal.insertSteps(active, gate.steps);
          this.journal.updateStep(active, step, {
            state: 'preparing',
            dependsOn: [...step.dependsOn, ...gate.steps.map((s) => s.id)],
          });
          this.journal.stepEvent(
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
      this.journal.record(() =>
        this.intake.applyFailure(active, step, {
          code: ErrorCode.stepFailed,
          message: `${prepared.missing} is not known yet (an earlier step did not report it)`,
          deterministic: true,
        }),
      );
      return;
    }
    this.journal.record(() => {
      this.journal.updateStep(active, step, {
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
      this.journal.stepEvent(active, step, 'dispatched', `${step.id} attempt ${attempt} sent to ${step.node}`);
    });
    this.send(active, step, now, prepared.params);
  }

  /** The agent's session opened: its in-flight steps are sent again (same id and attempt). */
  agentConnected(agentId: string, now: number): void {
    const resend: { active: ActiveRun; step: StepRecord }[] = [];
    this.journal.record(() => {
      for (const active of this.runs.values()) {
        for (const s of active.steps.values()) {
          if (isInFlight(s.state) && s.agentId === agentId) {
            if (s.disconnectedAt !== null) this.journal.updateStep(active, s, { disconnectedAt: null });
            resend.push({ active, step: s });
          }
        }
      }
    });
    // Same step id and attempt: the agent runs it once, or answers from its spool.
    for (const { active, step } of resend) this.send(active, step, now);
  }

  /** From now on the agent's in-flight steps count against the disconnect grace. */
  agentDisconnected(agentId: string, now: number): void {
    this.journal.record(() => {
      for (const active of this.runs.values()) {
        for (const s of active.steps.values()) {
          if (isInFlight(s.state) && s.agentId === agentId && s.disconnectedAt === null) {
            this.journal.updateStep(active, s, { disconnectedAt: now });
          }
        }
      }
    });
  }

  /**
   * A ready step whose node has no connected agent: said once in the run's events, then failed with that reason
   * once the wait is over (a run never sits silent on a node nobody serves).
   */
  private waitForAgent(active: ActiveRun, step: StepRecord, agent: AgentRecord | undefined, now: number): void {
    const key = `${active.run.id}/${step.id}`;
    const address =
      [...active.spec.spec.nodes, ...active.removedNodes].find((n) => n.name === step.node)?.address ?? step.node;
    const why = agent
      ? `waiting for agent ${agent.id} (${step.node}, ${address}) to connect`
      : `waiting for an agent bound to ${step.node} (${address}): enroll it with a token scoped to the node ` +
        `(kubeha token create --node ${step.node}) or approve one (kubeha agents approve AGENT --node ${step.node})`;
    const since = this.agentWaits.get(key);
    if (since === undefined) {
      this.agentWaits.set(key, now);
      this.journal.record(() => this.journal.stepEvent(active, step, 'pending', `${step.id}: ${why}`));
      return;
    }
    if (now - since < this.agentWaitMs) return;
    this.agentWaits.delete(key);
    this.journal.record(() =>
      this.intake.applyFailure(active, step, {
        code: ErrorCode.unavailable,
        message: `${why}: none came within ${Math.round(this.agentWaitMs / 1000)} s`,
        deterministic: true,
      }),
    );
  }

  private send(active: ActiveRun, step: StepRecord, now: number, params?: Record<string, unknown>): void {
    if (!step.agentId) return;
    let sendParams = params;
    const dryRun = active.run.kind === 'plan';
    if (!sendParams) {
      const values = this.journal.valuesOf(active.run.cluster);
      const prepared = paramsForDispatch(step, dryRun ? dryRunValues(values) : values);
      if ('missing' in prepared) return;
      sendParams = prepared.params;
    }
    const ref = {
      runId: active.run.id,
      stepId: step.id,
      attempt: step.attempt,
      timeoutSeconds: step.timeoutSeconds,
      dryRun,
    };
    const { kind } = step;
    const stepParams = sendParams;
    // Built when it leaves: converting a thousand large parameter sets is what a wide wave spends its time on.
    const message = () => runStepMessage(ref, kind, stepParams);
    const attempt = step.attempt;
    const agentId = step.agentId;
    const deliver = () =>
      this.journal.deliver(agentId, message, {
        priority: active.heights.get(step.id) ?? 0,
        onFailure: () => {
          if (step.attempt === attempt && isInFlight(step.state) && step.disconnectedAt === null) {
            this.journal.record(() => this.journal.updateStep(active, step, { disconnectedAt: now }));
          }
        },
      });
    const snapshotId = stepParams['snapshotId'];
    if (kind === 'etcd-restore-member' && stepParams['role'] === 'restore' && !dryRun && this.sendSnapshot) {
      // The snapshot goes first, on the same session; the step waits for it on the node. A failed transfer still
      // sends the step, which fails for want of the file and is retried (with the snapshot sent again).
      this.sendSnapshot(agentId, active.run.cluster, { runId: active.run.id, stepId: step.id }, String(snapshotId))
        .catch((error: unknown) => this.onSnapshotFailure?.(error, step.id))
        .finally(deliver);
      return;
    }
    deliver();
  }

  /** Told when a snapshot could not be sent (the step then fails on the node, saying the file is missing). */
  onSnapshotFailure?: (error: unknown, stepId: string) => void;
}

export type SendRestoreSnapshot = (
  agentId: string,
  cluster: string,
  ref: { runId: string; stepId: string },
  snapshotId: string,
) => Promise<void>;
