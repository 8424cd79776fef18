import type { Logger } from '../../common/logger.ts';
import { nodesWithHealthyAgents } from '../etcd/snapshot-run-state.ts';
import { describePosition, expectedLoadBalancerPositions } from '../plan/load-balancer-position.ts';
import type { RunKind } from '../plan/run-plan.ts';
import { valueNames } from '../scheduler/cluster-values.ts';
import type { RunRecord, Store } from '../store/store.ts';

/** The part of the scheduler the drift check uses. */
export interface ReconcileRunStarter {
  activeRunOf(cluster: string): string | undefined;
  startRun(cluster: string, kind: RunKind, options: { startedBecause: string }): RunRecord;
}

/** A reconcile of the same nodes that did not bring them in line is not started again sooner than this. */
export const reconcileRetryMs = 10 * 60_000;

export interface DriftedNode {
  node: string;
  recorded: string;
  expected: string;
}

/**
 * Finds the nodes whose keepalived and HAProxy were last configured for another set of control planes or peers than
 * the applied spec's (a removal or an addition went past them while their agent was away) and, once their agent is
 * back, starts a load-balancer-reconcile run of the cluster. Only a cluster at rest is touched: initialized, its last
 * applied spec deployed (an operator's change in progress is left to the operator), and no run going on.
 */
export class LoadBalancerDrift {
  private readonly store: Pick<Store, 'clusters' | 'clusterValues' | 'agents'>;
  private readonly runs: ReconcileRunStarter;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly lastTried = new Map<string, { key: string; at: number }>();

  constructor(deps: {
    store: Pick<Store, 'clusters' | 'clusterValues' | 'agents'>;
    runs: ReconcileRunStarter;
    logger: Logger;
    now: () => number;
  }) {
    this.store = deps.store;
    this.runs = deps.runs;
    this.logger = deps.logger;
    this.now = deps.now;
  }

  /** The nodes of a cluster whose recorded position differs from the applied spec's; none for a cluster not at rest. */
  driftedNodes(clusterName: string): DriftedNode[] {
    const cluster = this.store.clusters.get(clusterName);
    const applied = cluster?.appliedSpec;
    if (!cluster || !applied || cluster.initializedAt === null) return [];
    if (JSON.stringify(cluster.spec) !== JSON.stringify(applied)) return [];
    const drifted: DriftedNode[] = [];
    for (const [node, expected] of expectedLoadBalancerPositions(applied)) {
      const recorded = this.store.clusterValues.get(clusterName, valueNames.loadBalancerPosition(node))?.value;
      if (recorded !== undefined && recorded !== expected) drifted.push({ node, recorded, expected });
    }
    return drifted;
  }

  /** Starts the reconcile runs that are due; returns their ids. */
  tick(): string[] {
    const started: string[] = [];
    const now = this.now();
    for (const cluster of this.store.clusters.list()) {
      const drifted = this.driftedNodes(cluster.name);
      if (drifted.length === 0) {
        this.lastTried.delete(cluster.name);
        continue;
      }
      if (this.runs.activeRunOf(cluster.name)) continue;
      const healthy = new Set(nodesWithHealthyAgents(cluster.appliedSpec!, this.store.agents.list()));
      const back = drifted.filter((d) => healthy.has(d.node));
      if (back.length === 0) continue;
      const key = back.map((d) => `${d.node}=${d.recorded}`).join('\n');
      const last = this.lastTried.get(cluster.name);
      if (last && last.key === key && now < last.at + reconcileRetryMs) continue;
      this.lastTried.set(cluster.name, { key, at: now });
      const reason = back
        .map(
          (d) =>
            `the load balancer on ${d.node} is behind the cluster (it has ${describePosition(d.recorded)}; the cluster ` +
            `has ${describePosition(d.expected)}) and its agent is connected`,
        )
        .join('; ');
      try {
        const run = this.runs.startRun(cluster.name, 'load-balancer-reconcile', { startedBecause: reason });
        started.push(run.id);
        this.logger.info(
          { cluster: cluster.name, runId: run.id, nodes: back.map((d) => d.node) },
          'load-balancer reconcile started',
        );
      } catch (error) {
        this.logger.warn(
          { cluster: cluster.name, nodes: back.map((d) => d.node) },
          `load-balancer reconcile not started: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    return started;
  }
}
