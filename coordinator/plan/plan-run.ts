import type { ClusterNodeSpec, ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { planCertsRenew } from './plan-certs-renew.ts';
import { dryRunSteps } from './plan-dry-run.ts';
import { planEtcdRestore } from './plan-etcd-restore.ts';
import { planEtcdSnapshot } from './plan-etcd-snapshot.ts';
import { planLoadBalancerReconcile } from './plan-load-balancer-reconcile.ts';
import { leaveLoadBalancerSteps, loadBalancingChanged, nodeRemovals, removalSteps } from './plan-node-removal.ts';
import { agentStep, coordinatorStep, ifSet, noRetry, type ParamsOf, stepId } from './planned-steps.ts';
import type { ClusterState, PlannedStep, RunKind, RunPlan } from './run-plan.ts';
import {
  clusterNodes,
  controlPlaneEndpointOf,
  controlPlanesOf,
  hostsEntriesFor,
  kubePackagesRepo,
  loadBalancerNodesOf,
  loadBalancerParams,
  verifyParams,
} from './spec-step-params.ts';

export { noRetry, stepId, transientRetry } from './planned-steps.ts';

export const workerJoinGroup = 'worker-join';
export const workerResetGroup = 'worker-reset';

/** Joins get their own just-in-time tokens; the token kubeadm init makes only needs to outlive the init itself. */
const initTokenTtlSeconds = 3600;

/**
 * The deployed nodes a deploy leaves out because their agent is away (ClusterState.away): unchanged in the spec,
 * neither removed nor the node kubeadm init and verify run on.
 */
export function nodesLeftOut(spec: ClusterSpec, state: ClusterState): ClusterNodeSpec[] {
  const applied = state.applied;
  if (!applied || !state.away || state.away.length === 0) return [];
  const away = new Set(state.away);
  const removed = new Set(nodeRemovals(state, spec).map((r) => r.node.name));
  const members = new Set(state.members);
  const first = controlPlanesOf(spec).find((n) => members.has(n.name));
  const before = new Map(applied.spec.nodes.map((n) => [n.name, n]));
  return spec.spec.nodes.filter((n) => {
    const was = before.get(n.name);
    const deployed = n.role === 'load-balancer' || members.has(n.name);
    return (
      away.has(n.name) &&
      deployed &&
      was !== undefined &&
      was.address === n.address &&
      was.role === n.role &&
      !removed.has(n.name) &&
      n.name !== first?.name
    );
  });
}

/**
 * The deploy DAG. Each node prepares on its own; the cross-node checks gate every change; the load
 * balancer is up before kubeadm init; control planes join one at a time; workers join in parallel, bounded.
 * On a running cluster, the nodes that leave it are removed before any node joins (docs/nodes.md).
 */
function planDeploy(spec: ClusterSpec, state: ClusterState): PlannedStep[] {
  const s = spec.spec;
  const removals = nodeRemovals(state, spec);
  // A removed node is no member any more by the time the joins run: a dead one still in the spec joins again.
  const members = new Set(state.members.filter((m) => !removals.some((r) => r.node.name === m)));
  const controlPlanes = controlPlanesOf(spec);
  const holders = loadBalancerNodesOf(spec);
  // The HAProxy port on a node (0 when it runs none); the holders found once, not once per node (1 M steps at 1,000).
  const haproxyHolders = new Set(s.endpoint.mode === 'haproxy-keepalived' ? holders.map((h) => h.name) : []);
  const lbPortOn = (node: ClusterNodeSpec) => (haproxyHolders.has(node.name) ? s.endpoint.port : 0);
  // kubeadm init runs on a member when there are members: on a joined control plane it finds the cluster and does
  // nothing, where on a new node it would start a second cluster.
  const first = controlPlanes.find((n) => members.has(n.name)) ?? controlPlanes[0]!;
  const endpoint = controlPlaneEndpointOf(spec);
  const steps: PlannedStep[] = [];
  const leftOut = new Set(nodesLeftOut(spec, state).map((n) => n.name));
  const present = s.nodes.filter((n) => !leftOut.has(n.name));

  for (const node of present) {
    steps.push(
      agentStep(
        'preflight',
        node.name,
        [],
        {
          role: node.role,
          kubernetesVersion: s.kubernetesVersion,
          lbPort: lbPortOn(node),
          alreadyMember: members.has(node.name),
          allowCgroupV1: s.hostPolicy.allowCgroupV1,
          allowErasing: s.hostPolicy.allowErasing,
        },
        noRetry,
      ),
    );
  }
  const checks = coordinatorStep(
    'cross-node-checks',
    present.map((n) => stepId('preflight', n.name)),
    { nodes: present.map((n) => n.name) },
    noRetry,
  );
  steps.push(checks);

  /** The last step of each node's preparation. */
  const prepared = new Map<string, string>();
  for (const node of present) {
    steps.push(
      agentStep('host-prep', node.name, [stepId('preflight', node.name), checks.id], {
        hostname: node.name,
        role: node.role,
        nodes: clusterNodes(hostsEntriesFor(spec, node)),
        selinux: s.hostPolicy.selinux,
        firewall: s.hostPolicy.firewall,
        cni: s.networking.cni,
        podSubnet: s.networking.podCIDR,
        lbPort: lbPortOn(node),
        keepalived: holders.some((h) => h.name === node.name),
      }),
    );
    prepared.set(node.name, stepId('host-prep', node.name));
    // Dedicated load-balancer nodes run only the agent, keepalived and HAProxy.
    if (node.role === 'load-balancer') continue;
    steps.push(
      agentStep('container-runtime', node.name, [stepId('host-prep', node.name)], {
        kubernetesVersion: s.kubernetesVersion,
        ...ifSet('repoBaseUrl', s.mirrors?.containerRuntimePackages?.baseUrl),
        ...ifSet('gpgKeyUrl', s.mirrors?.containerRuntimePackages?.gpgKeyUrl),
        mirrors: s.mirrors?.registries ?? [],
        ...ifSet('imageRepository', s.mirrors?.imageRepository),
        allowErasing: s.hostPolicy.allowErasing,
      }),
      agentStep('kube-packages', node.name, [stepId('container-runtime', node.name)], {
        kubernetesVersion: s.kubernetesVersion,
        repoBaseUrl: s.mirrors?.kubernetesPackages?.baseUrl ?? kubePackagesRepo(s.kubernetesVersion),
        ...ifSet('gpgKeyUrl', s.mirrors?.kubernetesPackages?.gpgKeyUrl),
      }),
    );
    prepared.set(node.name, stepId('kube-packages', node.name));
  }

  const checksDone = [checks.id];
  const leaving = state.applied ? leaveLoadBalancerSteps(state.applied, removals, checksDone) : [];
  steps.push(...leaving);
  const left = leaving.length > 0 ? [leaving[leaving.length - 1]!.id] : [];
  // A running cluster whose control planes or load balancers change is reconfigured one node at a time, lowest
  // keepalived priority first, so the likely VIP holder changes last and the endpoint always has an answer.
  const oneAtATime = members.size > 0 && loadBalancingChanged(state.applied, spec);
  const lbOrder = (oneAtATime ? [...holders].reverse() : holders).filter((n) => !leftOut.has(n.name));
  let previousLb: string[] = [];
  for (const node of lbOrder) {
    const step = agentStep('load-balancer', node.name, [prepared.get(node.name)!, ...left, ...previousLb], {
      ...loadBalancerParams(spec, node, holders),
    });
    steps.push(step);
    if (oneAtATime) previousLb = [step.id];
  }
  const loadBalancerIds = lbOrder.map((n) => stepId('load-balancer', n.name));

  const initAfter = holders.includes(first) ? loadBalancerIds : [prepared.get(first.name)!, ...loadBalancerIds];
  const init = agentStep('kubeadm-init', first.name, initAfter, {
    kubernetesVersion: s.kubernetesVersion,
    controlPlaneEndpoint: endpoint,
    advertiseAddress: first.address,
    nodeName: first.name,
    podSubnet: s.networking.podCIDR,
    serviceSubnet: s.networking.serviceCIDR,
    tokenTtlSeconds: initTokenTtlSeconds,
    ...ifSet('imageRepository', s.mirrors?.imageRepository),
    allowCgroupV1: s.hostPolicy.allowCgroupV1,
  });
  steps.push(init);
  const cni = agentStep('cni', first.name, [init.id], {
    plugin: s.networking.cni,
    ...ifSet('manifestUrl', s.networking.cniManifest?.url),
    ...ifSet('manifestSha256', s.networking.cniManifest?.sha256),
    allowHttp: s.networking.cniManifest?.allowHttp ?? false,
    podSubnet: s.networking.podCIDR,
    rolloutTimeoutSeconds: 300,
  });
  steps.push(cni);

  const removed = removalSteps(removals, first.name, [init.id, ...left]);
  steps.push(...removed.steps);
  const afterRemovals = removals.length > 0 ? removed.done : [];

  const joinParams = (node: ClusterNodeSpec, controlPlane: boolean): ParamsOf<'join-worker'> => ({
    kubernetesVersion: s.kubernetesVersion,
    controlPlaneEndpoint: endpoint,
    advertiseAddress: node.address,
    nodeName: node.name,
    controlPlane,
    allowCgroupV1: s.hostPolicy.allowCgroupV1,
  });
  // etcd grows one member at a time: each join adds a learner and promotes it; concurrent joins race on quorum.
  let previous = [cni.id, ...afterRemovals];
  const joinIds: string[] = [];
  for (const node of controlPlanes.filter((n) => n !== first)) {
    // A member has joined already: joining again would only make join credentials on a control plane for nothing.
    if (members.has(node.name)) continue;
    const ownPrep = holders.includes(node) ? stepId('load-balancer', node.name) : prepared.get(node.name)!;
    const join = agentStep('join-control-plane', node.name, [...previous, ownPrep], joinParams(node, true));
    steps.push(join);
    joinIds.push(join.id);
    previous = [join.id];
  }
  for (const node of s.nodes.filter((n) => n.role === 'worker' && !members.has(n.name))) {
    const join = agentStep(
      'join-worker',
      node.name,
      [init.id, prepared.get(node.name)!, ...afterRemovals],
      joinParams(node, false),
    );
    join.concurrencyGroup = { name: workerJoinGroup, limit: s.concurrency.workers };
    steps.push(join);
    joinIds.push(join.id);
  }
  steps.push(agentStep('verify', first.name, [cni.id, ...afterRemovals, ...joinIds], verifyParams(spec)));
  return steps;
}

/**
 * kubeadm reset on every Kubernetes node: the workers in parallel (bounded like their joins), then the control
 * planes one at a time in reverse join order, so that etcd shrinks through a quorum. Dedicated load-balancer nodes
 * run no kubeadm and are left as they are.
 */
function planReset(spec: ClusterSpec): PlannedStep[] {
  const workers = spec.spec.nodes.filter((n) => n.role === 'worker');
  const steps: PlannedStep[] = workers.map((node) => {
    const step = agentStep('reset', node.name, [], { nodeName: node.name });
    step.concurrencyGroup = { name: workerResetGroup, limit: spec.spec.concurrency.workers };
    return step;
  });
  let previous = steps.map((s) => s.id);
  for (const node of [...controlPlanesOf(spec)].reverse()) {
    const step = agentStep('reset', node.name, previous, { nodeName: node.name });
    steps.push(step);
    previous = [step.id];
  }
  return steps;
}

/**
 * The health check on the first control plane, and beside it the coordinator's own look at every node's agent: a
 * node whose agent is gone fails the run even when Kubernetes still calls it Ready, since kubeha can no longer act
 * on it. The check does not wait for the health check, so a run whose verify node has no agent ends at once (the
 * verify step, still waiting for that agent, is skipped) instead of after the agent wait.
 */
function planVerify(spec: ClusterSpec): PlannedStep[] {
  return [
    agentStep('verify', controlPlanesOf(spec)[0]!.name, [], verifyParams(spec)),
    coordinatorStep('agents-connected', [], { nodes: spec.spec.nodes.map((n) => n.name) }, noRetry),
  ];
}

/**
 * The failover drill runs on the coordinator: the VIP holder is known only at run time (from heartbeats), and the
 * drill measures the endpoint from outside the node it breaks. It drives failover-drill-action steps on the holder.
 */
function planFailoverDrill(spec: ClusterSpec): PlannedStep[] {
  const mode = spec.spec.endpoint.mode;
  const actions =
    mode === 'haproxy-keepalived'
      ? ['stop-apiserver', 'stop-haproxy', 'stop-keepalived']
      : mode === 'keepalived'
        ? ['stop-apiserver', 'stop-keepalived']
        : ['stop-apiserver'];
  return [
    coordinatorStep(
      'failover-drill',
      [],
      {
        controlPlaneEndpoint: controlPlaneEndpointOf(spec),
        mode,
        candidates: clusterNodes(
          loadBalancerNodesOf(spec).length > 0 ? loadBalancerNodesOf(spec) : controlPlanesOf(spec),
        ),
        actions,
      },
      noRetry,
    ),
  ];
}

/**
 * The run's DAG for a validated spec. Pure: the same spec and state always give the same plan. A deploy of a
 * cluster with members checks every node again (each step changes only what differs) but never joins a member, and
 * removes the applied spec's nodes that left the spec (or are marked dead) before anything joins.
 */
export function planRun(kind: RunKind, spec: ClusterSpec, state: ClusterState = { members: [] }): RunPlan {
  const cluster = spec.metadata.name;
  switch (kind) {
    case 'deploy':
      return { kind, cluster, steps: planDeploy(spec, state) };
    case 'plan':
      return { kind, cluster, steps: dryRunSteps(planDeploy(spec, state)) };
    case 'verify':
      return { kind, cluster, steps: planVerify(spec) };
    case 'drill-failover':
      return { kind, cluster, steps: planFailoverDrill(spec) };
    case 'reset':
      return { kind, cluster, steps: planReset(spec) };
    case 'certs-renew':
      return { kind, cluster, steps: planCertsRenew(spec, state) };
    case 'etcd-snapshot':
      return { kind, cluster, steps: planEtcdSnapshot(spec, state) };
    case 'etcd-restore':
      return { kind, cluster, steps: planEtcdRestore(spec, state) };
    case 'load-balancer-reconcile':
      return { kind, cluster, steps: planLoadBalancerReconcile(spec, state) };
  }
}
