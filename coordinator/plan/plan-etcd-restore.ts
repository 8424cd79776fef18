import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { PlannedStepParams } from '../../proto/step-params/step-params-by-kind.ts';
import type { ClusterNodeSpec, ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { noRetry, transientRetry } from './planned-steps.ts';
import type { ClusterState, OwnPlannerPhase, PlannedStep, RetryPolicy } from './run-plan.ts';
import { controlPlanesOf, verifyParams } from './spec-step-params.ts';

/** Each wait of a step (pods stopping, a member healthy, an apiserver ready). */
const waitSeconds = 300;

const url = (node: ClusterNodeSpec, port: number) =>
  `https://${node.address.includes(':') ? `[${node.address}]` : node.address}:${port}`;

function step(
  phase: OwnPlannerPhase,
  kind: 'etcd-restore-stop' | 'etcd-restore-member' | 'etcd-restore-start',
  node: string,
  actsOn: string,
  dependsOn: string[],
  params: Record<string, unknown>,
  retry: RetryPolicy = transientRetry,
): PlannedStep {
  return {
    id: `${phase}/${actsOn}`,
    kind,
    phase,
    runsOn: 'agent',
    node,
    dependsOn,
    timeoutSeconds: 3 * waitSeconds,
    retry,
    params,
  };
}

/**
 * The guided restore of etcd from a snapshot after quorum is lost. On the first control plane whose agent is well
 * (its etcd container runs etcdutl): the quorum check and the apiserver stopped; then the apiserver and etcd stopped
 * on the others; the member restored from the snapshot there; each other control plane in turn added as a learner
 * through it, joined empty and promoted; the apiservers started; the cluster verified. Pure.
 */
export function planEtcdRestore(spec: ClusterSpec, state: ClusterState): PlannedStep[] {
  const cluster = spec.metadata.name;
  const restore = state.restore;
  if (!restore) throw new KubehaError(ErrorCode.internal, 'an etcd-restore run needs the snapshot it restores');
  const members = new Set(state.members);
  const planes = controlPlanesOf(spec).filter((n) => members.has(n.name));
  if (planes.length === 0) {
    throw new KubehaError(
      ErrorCode.conflict,
      `cluster ${cluster} has no control plane that is a member: nothing to restore`,
    );
  }
  const healthy = state.healthy === undefined ? undefined : new Set(state.healthy);
  const away = planes.filter((n) => healthy !== undefined && !healthy.has(n.name));
  if (away.length > 0) {
    throw new KubehaError(
      ErrorCode.conflict,
      `the agents of ${away.map((n) => n.name).join(', ')} are not connected and well: a restore needs every control plane of cluster ${cluster} (remove a dead one first with kubeha node remove --dead)`,
    );
  }
  const [first, ...others] = planes as [ClusterNodeSpec, ...ClusterNodeSpec[]];
  const id = restore.restoreId;
  const steps: PlannedStep[] = [];
  const firstStop = step(
    'etcd-restore-stop',
    'etcd-restore-stop',
    first.name,
    first.name,
    [],
    {
      restoreId: id,
      keepEtcd: true,
      refuseWithQuorum: !restore.force,
      snapshotTakenAt: restore.snapshotTakenAt,
      stopTimeoutSeconds: waitSeconds,
    } satisfies PlannedStepParams<'etcd-restore-stop'>,
    noRetry,
  );
  steps.push(firstStop);
  const stops = others.map((n) =>
    step('etcd-restore-stop', 'etcd-restore-stop', n.name, n.name, [firstStop.id], {
      restoreId: id,
      stopTimeoutSeconds: waitSeconds,
    } satisfies PlannedStepParams<'etcd-restore-stop'>),
  );
  steps.push(...stops);
  const restored = step(
    'etcd-restore',
    'etcd-restore-member',
    first.name,
    first.name,
    [firstStop.id, ...stops.map((s) => s.id)],
    {
      restoreId: id,
      role: 'restore',
      memberName: first.name,
      memberPeerUrl: url(first, 2380),
      snapshotId: restore.snapshotId,
      snapshotSha256: restore.snapshotSha256,
      waitTimeoutSeconds: waitSeconds,
    } satisfies PlannedStepParams<'etcd-restore-member'>,
  );
  steps.push(restored);
  let previous = restored.id;
  const joined: ClusterNodeSpec[] = [first];
  for (const node of others) {
    joined.push(node);
    const add = step('etcd-restore-add', 'etcd-restore-member', first.name, node.name, [previous], {
      restoreId: id,
      role: 'add-member',
      memberName: node.name,
      memberPeerUrl: url(node, 2380),
    } satisfies PlannedStepParams<'etcd-restore-member'>);
    const join = step('etcd-restore-join', 'etcd-restore-member', node.name, node.name, [add.id], {
      restoreId: id,
      role: 'join',
      memberName: node.name,
      memberPeerUrl: url(node, 2380),
      restoredClientUrl: url(first, 2379),
      initialCluster: joined.map((n) => `${n.name}=${url(n, 2380)}`).join(','),
      waitTimeoutSeconds: waitSeconds,
    } satisfies PlannedStepParams<'etcd-restore-member'>);
    steps.push(add, join);
    previous = join.id;
  }
  const starts = planes.map((n) =>
    step('etcd-restore-start', 'etcd-restore-start', n.name, n.name, [previous], {
      restoreId: id,
      apiserverAddress: n.address,
      waitTimeoutSeconds: waitSeconds,
    } satisfies PlannedStepParams<'etcd-restore-start'>),
  );
  steps.push(...starts);
  steps.push({
    id: `verify/${first.name}`,
    kind: 'verify',
    phase: 'verify',
    runsOn: 'agent',
    node: first.name,
    dependsOn: starts.map((s) => s.id),
    timeoutSeconds: 600,
    retry: transientRetry,
    params: verifyParams(spec),
  });
  return steps;
}
