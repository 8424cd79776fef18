import { randomBytes, randomUUID } from 'node:crypto';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { cancelStepMessage } from '../../proto/convert.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { etcdSnapshotRunState, nodesWithHealthyAgents } from '../etcd/snapshot-run-state.ts';
import { nodeRemovals } from '../plan/plan-node-removal.ts';
import { nodesLeftOut, planRun } from '../plan/plan-run.ts';
import { type ClusterState, coordinatorNode, type PlanRun, type RunKind } from '../plan/run-plan.ts';
import { unsupportedChanges } from '../plan/spec-changes.ts';
import { isTerminal, notStartedStep, type RunRecord, type StepRecord, type Store } from '../store/store.ts';
import { type ActiveRun, type ActiveRuns, activeRun } from './active-run.ts';
import { AgentsByAddress } from './agent-for-node.ts';
import { cancelPriority } from './agent-outbox.ts';
import type { ClusterPhases } from './cluster-phase.ts';
import { clusterMembers, nodesWithoutAgent, specForRun } from './cluster-state.ts';
import { valueNames } from './cluster-values.ts';
import { missingClusterSecrets } from './join-credentials.ts';
import { planSpecValueName, removedNodesValueName, storedPlanSpec, storedRemovedNodes } from './plan-values.ts';
import type { RunJournal } from './run-journal.ts';
import { isInFlight, runOutcome } from './step-decisions.ts';
import type { StepLogCap } from './step-log-cap.ts';

/** An agent not heard from this long when a deploy starts is away: the deploy leaves its unchanged node out. */
const awayAfterMs = 120_000;

/** How a run is started: see RunLifecycle.startRun. */
export interface RunStartOptions {
  waitForAgents?: boolean;
  planSpec?: ClusterSpec;
  /** Nodes to remove as dead: nothing is run on them. */
  dead?: readonly string[];
  /** The coordinator starts the run by itself; its first event says why. */
  startedBecause?: string;
  /** etcd-restore: the id of the snapshot to restore. */
  snapshot?: string;
  /** etcd-restore: restore even though etcd has quorum. */
  force?: boolean;
}

/** Where runs begin and end: planned and started, resumed after a restart, cancelled, finished with their outcome. */
export class RunLifecycle {
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly journal: RunJournal;
  private readonly runs: ActiveRuns;
  private readonly phases: ClusterPhases;
  private readonly logCap: StepLogCap;
  private readonly planRun: PlanRun;
  private readonly unbind: (cluster: string, node: string) => void;
  private readonly now: () => number;
  private readonly kick: () => void;
  private readonly runStartNotes: (cluster: string) => string[];
  private readonly startedAt: number;

  constructor(deps: {
    store: Store;
    logger: Logger;
    journal: RunJournal;
    runs: ActiveRuns;
    phases: ClusterPhases;
    logCap: StepLogCap;
    planRun?: PlanRun;
    runStartNotes?: (cluster: string) => string[];
    unbind?: (cluster: string, node: string) => void;
    now: () => number;
    kick: () => void;
  }) {
    this.unbind = deps.unbind ?? (() => {});
    this.store = deps.store;
    this.logger = deps.logger;
    this.journal = deps.journal;
    this.runs = deps.runs;
    this.phases = deps.phases;
    this.logCap = deps.logCap;
    this.planRun = deps.planRun ?? planRun;
    this.now = deps.now;
    this.kick = deps.kick;
    this.runStartNotes = deps.runStartNotes ?? (() => []);
    this.startedAt = deps.now();
  }

  /**
   * The spec's nodes whose agent has not been heard from for awayAfterMs, once this coordinator has run that long
   * (right after a restart every agent is disconnected until it reconnects).
   */
  private awayNodes(spec: ClusterSpec): string[] {
    const now = this.now();
    if (now - this.startedAt < awayAfterMs) return [];
    const agents = new AgentsByAddress(this.store.agents.list());
    return spec.spec.nodes
      .filter((n) => {
        const agent = agents.get(n.address);
        return agent !== undefined && !agent.connected && (agent.lastHeartbeatAt ?? 0) < now - awayAfterMs;
      })
      .map((n) => n.name);
  }

  /** Takes up every unfinished run; in-flight agent steps get `graceMs` for their agent to come back. */
  resumeAll(graceMs: number): void {
    const now = this.now();
    for (const run of this.store.runs.unfinished()) {
      const spec = this.specOf(run);
      if (!spec) continue;
      const steps = this.store.steps.list(run.id);
      const active = activeRun(run, spec, steps, storedRemovedNodes(this.store, run.cluster, run.id));
      this.runs.set(run.id, active);
      this.journal.record(() => {
        for (const s of steps) {
          if (!isInFlight(s.state)) continue;
          if (s.node === coordinatorNode) {
            // The coordinator's own steps are pure checks: run them again.
            this.journal.updateStep(active, s, { state: 'pending', attempt: Math.max(0, s.attempt - 1) });
            continue;
          }
          const deadlineAt = Math.max(s.deadlineAt ?? 0, now + graceMs);
          this.journal.updateStep(active, s, { deadlineAt, disconnectedAt: now });
        }
      });
      this.logger.info({ runId: run.id, cluster: run.cluster, kind: run.kind }, 'resuming run');
    }
  }

  /**
   * Plans and starts a run. Refused (409) when the cluster is busy, when a deploy asks for a change the plan cannot
   * make, and, unless `waitForAgents`, when a node has no enrolled agent. A verify run is not refused for that: its
   * agents-connected step reports every such node, and the run fails with the health report of the others.
   */
  private restoreState(clusterName: string, spec: ClusterSpec, options: RunStartOptions): Partial<ClusterState> {
    if (!options.snapshot) {
      throw new KubehaError(ErrorCode.badRequest, 'an etcd-restore run needs the snapshot to restore ("snapshot": ID)');
    }
    const record = this.store.snapshots.get(clusterName, options.snapshot);
    if (!record) {
      throw new KubehaError(
        ErrorCode.notFound,
        `cluster ${clusterName} has no etcd snapshot ${options.snapshot} (kubeha etcd snapshots ${clusterName})`,
      );
    }
    return {
      healthy: nodesWithHealthyAgents(spec, this.store.agents.list()),
      restore: {
        restoreId: `r${randomBytes(5).toString('hex')}`,
        snapshotId: record.id,
        snapshotSize: record.sizeBytes,
        snapshotSha256: record.sha256,
        snapshotTakenAt: new Date(record.takenAtMs).toISOString(),
        force: options.force === true,
      },
    };
  }

  startRun(clusterName: string, kind: RunKind, options: RunStartOptions = {}): RunRecord {
    const cluster = this.store.clusters.get(clusterName);
    const planSpec = kind === 'plan' ? (options.planSpec ?? cluster?.spec) : undefined;
    if (!cluster && !planSpec) throw new KubehaError(ErrorCode.notFound, `no cluster ${clusterName}`);
    const busy = [...this.runs.values()].find((a) => a.run.cluster === clusterName);
    if (busy) {
      throw new KubehaError(ErrorCode.conflict, `cluster ${clusterName} already has run ${busy.run.id} in progress`, {
        details: { runId: busy.run.id },
      });
    }
    if (kind === 'certs-renew' && cluster?.initializedAt === null) {
      throw new KubehaError(
        ErrorCode.conflict,
        `cluster ${clusterName} has no certificates to renew: kubeadm init has not run on it (deploy it first)`,
      );
    }
    const spec = planSpec ?? specForRun(cluster!, kind);
    const members = cluster ? clusterMembers(this.store, cluster) : [];
    const dead = options.dead ?? [];
    if (dead.length > 0 && kind !== 'deploy' && kind !== 'plan') {
      throw new KubehaError(ErrorCode.badRequest, `only a deploy removes nodes; a ${kind} run takes no dead nodes`);
    }
    if (kind === 'deploy' && cluster) {
      const problems = unsupportedChanges(cluster.appliedSpec, spec, members, dead);
      if (problems.length > 0) {
        throw new KubehaError(ErrorCode.conflict, `cannot deploy ${clusterName}: ${problems.join('; ')}`, {
          details: problems,
        });
      }
    }
    const missing = nodesWithoutAgent(spec, this.store.agents.list());
    if (missing.length > 0 && options.waitForAgents !== true && kind !== 'verify') {
      throw new KubehaError(
        ErrorCode.conflict,
        `no enrolled agent reports ${missing.map((n) => `${n.address} (${n.name})`).join(', ')}; enroll the agent(s) first, or start the run waiting for them (kubeha apply --wait-for-agents)`,
        { details: missing.map((n) => n.name) },
      );
    }
    const state = {
      members,
      applied: cluster?.appliedSpec ?? null,
      dead,
      requestedAt: this.now(),
      ...(kind === 'etcd-snapshot' ? etcdSnapshotRunState(spec, this.store.agents.list(), this.now()) : {}),
      ...(kind === 'etcd-restore' ? this.restoreState(clusterName, spec, options) : {}),
      ...(kind === 'deploy' && cluster?.initializedAt ? { away: this.awayNodes(spec) } : {}),
      ...(kind === 'load-balancer-reconcile'
        ? { healthy: nodesWithHealthyAgents(spec, this.store.agents.list()) }
        : {}),
    };
    const plan = this.planRun(kind, spec, state);
    const leftOut = kind === 'deploy' ? nodesLeftOut(spec, state).map((n) => n.name) : [];
    const wanted = new Set(spec.spec.nodes.map((n) => n.name));
    // The removed nodes steps still run on; a dead node runs nothing, and a name the spec keeps is its new machine.
    const removedNodes = nodeRemovals(state, spec)
      .filter((r) => !r.dead && !wanted.has(r.node.name))
      .map((r) => r.node);
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
      bestEffort: p.bestEffort ?? false,
      forNode: null,
      ...notStartedStep(),
    }));
    const active = activeRun(run, spec, steps, removedNodes);
    this.journal.record(() => {
      // A dead node's machine is gone: a replacement under its name is bound to its own agent, never the old one.
      if (kind === 'deploy') for (const node of dead) this.unbind(clusterName, node);
      this.store.runs.insert(run);
      this.store.steps.insert(steps);
      if (removedNodes.length > 0) {
        this.store.clusterValues.set(clusterName, removedNodesValueName(run.id), {
          value: JSON.stringify(removedNodes),
          secret: false,
          updatedAt: now,
        });
      }
      if (planSpec) {
        // Kept with the run, so a restarted coordinator resumes the plan of the spec it was asked about.
        this.store.clusterValues.set(clusterName, planSpecValueName(run.id), {
          value: JSON.stringify(planSpec),
          secret: false,
          updatedAt: now,
        });
      } else {
        for (const [name, value] of missingClusterSecrets(this.journal.valuesOf(clusterName), now)) {
          this.store.clusterValues.set(clusterName, name, value);
        }
      }
      this.journal.event(run.id, {
        type: 'run',
        state: 'running',
        message: `${kind} run of ${clusterName} started${options.startedBecause ? ` by the coordinator: ${options.startedBecause}` : ''}`,
      });
      for (const message of kind === 'plan' ? [] : this.runStartNotes(clusterName)) {
        this.journal.event(run.id, { type: 'log', message });
      }
      if (leftOut.length > 0) {
        this.journal.event(run.id, {
          type: 'log',
          message:
            `left out of this run: ${leftOut.join(', ')} (no agent connected for ${awayAfterMs / 1000} s or more; ` +
            'the change does not need them); a load balancer among them is reconfigured when its agent reconnects',
        });
      }
    });
    this.runs.set(run.id, active);
    // Agents that connected before the cluster existed learn its phase now, before any step (the init node's health
    // endpoint answers healthy before init, so the VIP sits where init needs it).
    if (cluster && kind !== 'plan') this.phases.broadcast(cluster.spec, cluster.initializedAt !== null);
    this.logger.info({ runId: run.id, cluster: clusterName, kind, steps: steps.length }, 'run started');
    this.kick();
    return run;
  }

  /** Cancels the run: pending steps never start, in-flight steps are told to stop; late results are ignored. */
  cancel(runId: string): RunRecord {
    const active = this.runs.get(runId);
    if (!active) {
      const run = this.store.runs.get(runId);
      if (!run) throw new KubehaError(ErrorCode.notFound, `no run ${runId}`);
      throw new KubehaError(ErrorCode.conflict, `run ${runId} has already finished (${run.state})`);
    }
    const now = this.now();
    const inFlight = [...active.steps.values()].filter((s) => isInFlight(s.state));
    this.journal.record(() => {
      for (const s of active.steps.values()) {
        if (isTerminal(s.state)) continue;
        this.journal.updateStep(active, s, { state: 'cancelled', finishedAt: now });
      }
      this.finishRun(active, 'cancelled', 'cancelled by the operator');
    });
    for (const s of inFlight) {
      if (s.agentId) {
        this.journal.deliver(s.agentId, cancelStepMessage({ runId, stepId: s.id, attempt: s.attempt }), {
          priority: cancelPriority,
        });
      }
    }
    return active.run;
  }

  /** Finishes the run once no step can change its outcome any more. */
  finishIfDone(active: ActiveRun): void {
    if (!this.runs.has(active.run.id)) return;
    const outcome = runOutcome(active.steps.values());
    if (outcome !== 'running') {
      const failed = [...active.steps.values()].find((s) => s.state === 'failed' && !s.bestEffort);
      this.journal.record(() =>
        this.finishRun(active, outcome, failed ? `${failed.id}: ${failed.error?.message ?? 'failed'}` : null),
      );
    }
  }

  /** Reads the run back from the store (after a pass or a batch failed half-way), or lets it go when it is over. */
  reload(runId: string): void {
    const run = this.store.runs.get(runId);
    const spec = run && this.specOf(run);
    if (!run || !spec || run.state !== 'running') {
      this.runs.delete(runId);
      return;
    }
    const steps = this.store.steps.list(runId);
    this.runs.set(runId, activeRun(run, spec, steps, storedRemovedNodes(this.store, run.cluster, runId)));
  }

  /** The spec the run works from: a plan's own, the cluster's for the others; undefined when it is gone. */
  private specOf(run: RunRecord): ClusterSpec | undefined {
    if (run.kind === 'plan') return storedPlanSpec(this.store, run.cluster, run.id);
    const cluster = this.store.clusters.get(run.cluster);
    return cluster && specForRun(cluster, run.kind);
  }

  private finishRun(active: ActiveRun, state: 'succeeded' | 'failed' | 'cancelled', error: string | null): void {
    const now = this.now();
    this.store.runs.update(active.run.id, { state, finishedAt: now, error });
    // Every join of the run is done: the init token has no use left (a later run makes a new one if it needs one).
    if (
      state === 'succeeded' &&
      active.run.kind !== 'plan' &&
      this.store.clusters.get(active.run.cluster)?.initializedAt
    ) {
      this.store.clusterValues.delete(active.run.cluster, valueNames.initToken);
    }
    const succeeded = state === 'succeeded';
    const record = succeeded ? this.store.clusters.get(active.run.cluster) : undefined;
    if (record && active.run.kind === 'reset') {
      this.store.clusters.put({ ...record, initializedAt: null, appliedSpec: null, appliedAt: null });
    }
    if (record && active.run.kind === 'deploy') {
      this.store.clusters.put({ ...record, appliedSpec: active.spec, appliedAt: now });
    }
    // The nodes the run removed are no longer served by their agents (their reset, the last step on them, is over).
    for (const node of active.removedNodes) {
      if (active.steps.get(`delete-node/${node.name}`)?.state === 'succeeded')
        this.unbind(active.run.cluster, node.name);
    }
    if (active.run.kind === 'plan')
      this.store.clusterValues.delete(active.run.cluster, planSpecValueName(active.run.id));
    this.store.clusterValues.delete(active.run.cluster, removedNodesValueName(active.run.id));
    const upToDate = succeeded && active.run.kind === 'deploy' && [...active.steps.values()].every((s) => !s.changed);
    active.run = { ...active.run, state, finishedAt: now, error };
    this.journal.event(active.run.id, {
      type: 'run',
      state,
      message: upToDate
        ? `${active.run.kind} run ${state}: up to date, nothing changed on any node`
        : `${active.run.kind} run ${state}${error ? `: ${error}` : ''}`,
    });
    this.runs.delete(active.run.id);
    this.logCap.forget(active.run.id);
    this.logger.info({ runId: active.run.id, state }, 'run finished');
  }
}
