import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { PlannedStepParams } from '../../proto/step-params/step-params-by-kind.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { ClusterState, PlannedStep } from './run-plan.ts';
import { controlPlanesOf } from './spec-step-params.ts';

/** Saving and sending a snapshot of a few GiB over a slow link still fits. */
const snapshotTimeoutSeconds = 1800;

/**
 * One etcd-snapshot step on the first control plane (in spec order) that is an etcd member and whose agent is
 * connected and well. Pure: the snapshot's id and the agents' health come in `state`. A lost session or a stopped
 * agent is worth another attempt (the step sends the whole snapshot again); a refused upload is not, and the
 * coordinator says so as a deterministic failure.
 */
export function planEtcdSnapshot(spec: ClusterSpec, state: ClusterState): PlannedStep[] {
  const cluster = spec.metadata.name;
  const members = new Set(state.members);
  const candidates = controlPlanesOf(spec).filter((n) => members.has(n.name));
  if (candidates.length === 0) {
    throw new KubehaError(ErrorCode.conflict, `cluster ${cluster} has no etcd member yet: deploy it first`);
  }
  const healthy = state.healthy === undefined ? undefined : new Set(state.healthy);
  const node = candidates.find((n) => healthy === undefined || healthy.has(n.name));
  if (!node) {
    throw new KubehaError(
      ErrorCode.conflict,
      `no etcd member of cluster ${cluster} has a connected, healthy agent (${candidates.map((n) => n.name).join(', ')}): no snapshot can be taken now`,
    );
  }
  if (!state.snapshotId) throw new KubehaError(ErrorCode.internal, 'an etcd-snapshot run needs a snapshot id');
  const params: PlannedStepParams<'etcd-snapshot'> = { snapshotId: state.snapshotId };
  return [
    {
      id: `etcd-snapshot/${node.name}`,
      kind: 'etcd-snapshot',
      phase: 'etcd-snapshot',
      runsOn: 'agent',
      node: node.name,
      dependsOn: [],
      timeoutSeconds: snapshotTimeoutSeconds,
      retry: { maxAttempts: 3, initialBackoffMs: 5_000, maxBackoffMs: 60_000 },
      params,
    },
  ];
}
