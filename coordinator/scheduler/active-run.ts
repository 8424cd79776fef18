import type { ClusterNodeSpec, ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { RunRecord, StepRecord } from '../store/store.ts';
import { isControlPlaneJoin } from './join-credentials.ts';
import { stepDependents, stepHeights } from './step-decisions.ts';

/** A run the scheduler is walking: its record, the spec it was planned from and its steps, kept in step with the store. */
export interface ActiveRun {
  run: RunRecord;
  spec: ClusterSpec;
  /** The nodes the run removes that steps still run on (leaving the load balancer, kubeadm reset): not in `spec`. */
  removedNodes: ClusterNodeSpec[];
  steps: Map<string, StepRecord>;
  nextSeq: number;
  /** kubeadm-init and the control-plane joins: where join credentials can be made. */
  controlPlaneSteps: StepRecord[];
  /** stepHeights of the steps, kept up to date as steps and dependencies are added (raiseHeights). */
  heights: Map<string, number>;
  /** The steps waiting for each step (stepDependents), kept up to date as steps and dependencies are added. */
  dependents: Map<string, Set<string>>;
}

/** The runs in progress, by run id. */
export type ActiveRuns = Map<string, ActiveRun>;

export function activeRun(
  run: RunRecord,
  spec: ClusterSpec,
  steps: StepRecord[],
  removedNodes: ClusterNodeSpec[] = [],
): ActiveRun {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const dependents = stepDependents(steps);
  return {
    run,
    spec,
    removedNodes,
    steps: byId,
    nextSeq: steps.reduce((max, s) => Math.max(max, s.seq + 1), 0),
    controlPlaneSteps: steps.filter((s) => s.kind === 'kubeadm-init' || isControlPlaneJoin(s)),
    heights: stepHeights(byId, dependents),
    dependents,
  };
}
