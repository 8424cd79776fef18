import type { AgentStepKind, PlannedStepParams } from '../../proto/step-params/step-params-by-kind.ts';
import type { ClusterNodeSpec, ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { dryRunSteps } from './plan-dry-run.ts';
import { planEtcdSnapshot } from './plan-etcd-snapshot.ts';
import {
  type ClusterState,
  coordinatorNode,
  type PlannedStep,
  type RetryPolicy,
  type RunKind,
  type RunPlan,
  type StepPhase,
} from './run-plan.ts';
import {
  clusterNodes,
  controlPlaneEndpointOf,
  controlPlanesOf,
  haproxyPortOn,
  hostsEntriesFor,
  kubePackagesRepo,
  loadBalancerNodesOf,
  loadBalancerParams,
  verifyParams,
} from './spec-step-params.ts';

/** Deterministic steps: a retry cannot change the answer. */
export const noRetry: RetryPolicy = { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 };
/** Transient failures (a package mirror hiccup, an agent reconnecting): 3 attempts, 5 s then 10 s apart. */
export const transientRetry: RetryPolicy = { maxAttempts: 3, initialBackoffMs: 5_000, maxBackoffMs: 60_000 };

export const workerJoinGroup = 'worker-join';
export const workerResetGroup = 'worker-reset';

const timeoutSeconds: Record<StepPhase, number> = {
  preflight: 120,
  'cross-node-checks': 120,
  'host-prep': 600,
  'container-runtime': 900,
  'kube-packages': 900,
  'load-balancer': 300,
  'kubeadm-init': 900,
  cni: 600,
  'join-control-plane': 900,
  'join-worker': 900,
  verify: 600,
  'agents-connected': 60,
  'failover-drill': 900,
  reset: 600,
};

type AgentPhase = Exclude<StepPhase, 'cross-node-checks' | 'agents-connected' | 'failover-drill'>;

/** The agent step kind behind each phase (the RunStep params oneof field in kebab-case). */
const agentKind = {
  preflight: 'preflight',
  'host-prep': 'host-prep',
  'container-runtime': 'container-runtime',
  'kube-packages': 'kube-packages',
  'load-balancer': 'load-balancer',
  'kubeadm-init': 'kubeadm-init',
  cni: 'cni',
  'join-control-plane': 'kubeadm-join',
  'join-worker': 'kubeadm-join',
  verify: 'verify',
  reset: 'kubeadm-reset',
} as const satisfies Record<AgentPhase, AgentStepKind>;

type ParamsOf<P extends AgentPhase> = PlannedStepParams<(typeof agentKind)[P]>;

/** `{ name: value }` when the value is set, else nothing: an unset optional parameter is left out, never sent empty. */
function ifSet<N extends string, V>(name: N, value: V | undefined): { [key in N]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [key in N]?: V };
}

/** Joins get their own just-in-time tokens; the token kubeadm init makes only needs to outlive the init itself. */
const initTokenTtlSeconds = 3600;

/** Ids are "<phase>/<node>"; the coordinator's own steps are just "<phase>". */
export function stepId(phase: StepPhase, node?: string): string {
  return node === undefined ? phase : `${phase}/${node}`;
}

function agentStep<P extends AgentPhase>(
  phase: P,
  node: string,
  dependsOn: string[],
  params: ParamsOf<P>,
  retry: RetryPolicy = transientRetry,
): PlannedStep {
  return {
    id: stepId(phase, node),
    kind: agentKind[phase],
    phase,
    runsOn: 'agent',
    node,
    dependsOn,
    timeoutSeconds: timeoutSeconds[phase],
    retry,
    params,
  };
}

function coordinatorStep(
  phase: 'cross-node-checks' | 'agents-connected' | 'failover-drill',
  dependsOn: string[],
  params: Record<string, unknown>,
  retry: RetryPolicy,
): PlannedStep {
  return {
    id: stepId(phase),
    kind: phase,
    phase,
    runsOn: 'coordinator',
    node: coordinatorNode,
    dependsOn,
    timeoutSeconds: timeoutSeconds[phase],
    retry,
    params,
  };
}

/**
 * The deploy DAG. Each node prepares on its own; the cross-node checks gate every change; the load
 * balancer is up before kubeadm init; control planes join one at a time; workers join in parallel, bounded.
 */
function planDeploy(spec: ClusterSpec, members: ReadonlySet<string>): PlannedStep[] {
  const s = spec.spec;
  const controlPlanes = controlPlanesOf(spec);
  const holders = loadBalancerNodesOf(spec);
  const first = controlPlanes[0]!;
  const endpoint = controlPlaneEndpointOf(spec);
  const steps: PlannedStep[] = [];

  for (const node of s.nodes) {
    steps.push(
      agentStep(
        'preflight',
        node.name,
        [],
        {
          role: node.role,
          kubernetesVersion: s.kubernetesVersion,
          lbPort: haproxyPortOn(spec, node),
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
    s.nodes.map((n) => stepId('preflight', n.name)),
    { nodes: s.nodes.map((n) => n.name) },
    noRetry,
  );
  steps.push(checks);

  /** The last step of each node's preparation. */
  const prepared = new Map<string, string>();
  for (const node of s.nodes) {
    steps.push(
      agentStep('host-prep', node.name, [stepId('preflight', node.name), checks.id], {
        hostname: node.name,
        role: node.role,
        nodes: clusterNodes(hostsEntriesFor(spec, node)),
        selinux: s.hostPolicy.selinux,
        firewall: s.hostPolicy.firewall,
        cni: s.networking.cni,
        podSubnet: s.networking.podCIDR,
        lbPort: haproxyPortOn(spec, node),
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

  for (const node of holders) {
    steps.push(
      agentStep('load-balancer', node.name, [prepared.get(node.name)!], loadBalancerParams(spec, node, holders)),
    );
  }
  const loadBalancerIds = holders.map((n) => stepId('load-balancer', n.name));

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

  const joinParams = (node: ClusterNodeSpec, controlPlane: boolean): ParamsOf<'join-worker'> => ({
    kubernetesVersion: s.kubernetesVersion,
    controlPlaneEndpoint: endpoint,
    advertiseAddress: node.address,
    nodeName: node.name,
    controlPlane,
    allowCgroupV1: s.hostPolicy.allowCgroupV1,
  });
  // etcd grows one member at a time: each join adds a learner and promotes it; concurrent joins race on quorum.
  let previous = cni.id;
  const joinIds: string[] = [];
  for (const node of controlPlanes.slice(1)) {
    // A member has joined already: joining again would only make join credentials on a control plane for nothing.
    if (members.has(node.name)) continue;
    const ownPrep = holders.includes(node) ? stepId('load-balancer', node.name) : prepared.get(node.name)!;
    const join = agentStep('join-control-plane', node.name, [previous, ownPrep], joinParams(node, true));
    steps.push(join);
    joinIds.push(join.id);
    previous = join.id;
  }
  for (const node of s.nodes.filter((n) => n.role === 'worker' && !members.has(n.name))) {
    const join = agentStep('join-worker', node.name, [init.id, prepared.get(node.name)!], joinParams(node, false));
    join.concurrencyGroup = { name: workerJoinGroup, limit: s.concurrency.workers };
    steps.push(join);
    joinIds.push(join.id);
  }
  steps.push(agentStep('verify', first.name, [cni.id, ...joinIds], verifyParams(spec)));
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
 * cluster with members checks every node again (each step changes only what differs) but never joins a member.
 */
export function planRun(kind: RunKind, spec: ClusterSpec, state: ClusterState = { members: [] }): RunPlan {
  const cluster = spec.metadata.name;
  switch (kind) {
    case 'deploy':
      return { kind, cluster, steps: planDeploy(spec, new Set(state.members)) };
    case 'plan':
      return { kind, cluster, steps: dryRunSteps(planDeploy(spec, new Set(state.members))) };
    case 'verify':
      return { kind, cluster, steps: planVerify(spec) };
    case 'drill-failover':
      return { kind, cluster, steps: planFailoverDrill(spec) };
    case 'reset':
      return { kind, cluster, steps: planReset(spec) };
    case 'etcd-snapshot':
      return { kind, cluster, steps: planEtcdSnapshot(spec, state) };
  }
}
