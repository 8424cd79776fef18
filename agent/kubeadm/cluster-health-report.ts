import { parse as parseYaml } from 'yaml';
import { formatHostPort } from '../../common/format-host-port.ts';
import type { EtcdEndpointHealth, EtcdEndpointStatus, EtcdMember } from './etcdctl.ts';
import { urlHost } from './etcdctl.ts';
import type { PodNetworkObservation, PodTrafficCheck } from './pod-network-probe.ts';

export interface SpecNode {
  name: string;
  address: string;
  role: string;
}

/** What the verify step read from the cluster and this node; a field is an Error when it could not be read. */
export interface ClusterObservations {
  endpoint: string;
  checkedOn: SpecNode;
  specNodes: SpecNode[];
  nodeList: unknown | Error;
  controlPlanePods: unknown | Error;
  etcd: { members: EtcdMember[]; health: EtcdEndpointHealth[]; status: EtcdEndpointStatus[] } | Error;
  leases: unknown | Error;
  readyz: { httpStatus: number; body: string } | Error;
  /** File path -> content (undefined when missing). */
  kubeconfigs: Record<string, string | undefined>;
  /** Cross-node pod traffic; `skipped` says why it was not checked. */
  podNetwork: PodNetworkObservation | { skipped: string } | Error;
}

export const controlPlaneComponents = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export const adminKubeconfig = '/etc/kubernetes/admin.conf';

export interface ClusterHealthReport {
  ok: boolean;
  checkedOn: string;
  endpoint: string;
  problems: string[];
  /** inCluster: the API server lists the node (false: it never joined, or was deleted). */
  nodes: { name: string; role: string; ready: boolean; inCluster: boolean }[];
  controlPlanePods: { node: string; component: string; phase: string; ready: boolean }[];
  etcd: {
    members: {
      id: string;
      name: string;
      peerUrls: string[];
      isLearner: boolean;
      healthy: boolean;
      isLeader: boolean;
    }[];
    leader?: string;
  };
  leases: { name: string; holderIdentity: string; holderNode: string }[];
  readyz: { url: string; ok: boolean; httpStatus: number };
  kubeconfigs: { file: string; server: string; pointsAt: 'endpoint' | 'local-apiserver' | 'other' | 'missing' }[];
  podNetwork: { checked: PodTrafficCheck[]; skipped?: string };
}

interface NodeJson {
  metadata?: { name?: string };
  status?: { conditions?: { type?: string; status?: string }[] };
}
interface PodJson {
  metadata?: { labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { phase?: string; containerStatuses?: { ready?: boolean }[] };
}
interface LeaseJson {
  metadata?: { name?: string };
  spec?: { holderIdentity?: string };
}

const items = <T>(list: unknown): T[] => ((list as { items?: T[] } | undefined)?.items ?? []) as T[];
const failed = (what: string, error: Error) => `${what}: ${error.message}`;

function kubeconfigServer(text: string): string {
  const config = parseYaml(text) as {
    'current-context'?: string;
    contexts?: { name?: string; context?: { cluster?: string } }[];
    clusters?: { name?: string; cluster?: { server?: string } }[];
  } | null;
  const context = config?.contexts?.find((c) => c.name === config['current-context']);
  const cluster = config?.clusters?.find((c) => c.name === context?.context?.cluster) ?? config?.clusters?.[0];
  return cluster?.cluster?.server ?? '';
}

/**
 * Judges what verify observed. kubeadm points controller-manager.conf and scheduler.conf at the local apiserver
 * (since 1.19, for version skew during upgrades), and kubelet.conf on control planes too from 1.33
 * (ControlPlaneKubeletLocalMode): that is as good as the endpoint. admin.conf must use the endpoint; any other
 * node's address is a problem, because that node's loss would break the component.
 */
export function buildClusterHealthReport(o: ClusterObservations): ClusterHealthReport {
  const problems: string[] = [];
  const kubeletNodes = o.specNodes.filter((n) => n.role === 'control-plane' || n.role === 'worker');
  const controlPlanes = o.specNodes.filter((n) => n.role === 'control-plane');

  const nodes: ClusterHealthReport['nodes'] = [];
  if (o.nodeList instanceof Error) problems.push(failed('listing nodes', o.nodeList));
  else {
    const byName = new Map(items<NodeJson>(o.nodeList).map((n) => [n.metadata?.name ?? '', n]));
    for (const spec of kubeletNodes) {
      const node = byName.get(spec.name);
      const ready = node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      nodes.push({ name: spec.name, role: spec.role, ready, inCluster: node !== undefined });
      if (!node) problems.push(`node ${spec.name} is not in the cluster`);
      else if (!ready) problems.push(`node ${spec.name} is not Ready`);
    }
  }

  const controlPlanePods: ClusterHealthReport['controlPlanePods'] = [];
  if (o.controlPlanePods instanceof Error) problems.push(failed('listing control-plane pods', o.controlPlanePods));
  else {
    const pods = items<PodJson>(o.controlPlanePods);
    for (const cp of controlPlanes) {
      for (const component of controlPlaneComponents) {
        const pod = pods.find((p) => p.metadata?.labels?.component === component && p.spec?.nodeName === cp.name);
        const phase = pod?.status?.phase ?? 'Missing';
        const ready = (pod?.status?.containerStatuses ?? []).every((c) => c.ready === true) && phase === 'Running';
        controlPlanePods.push({ node: cp.name, component, phase, ready });
        if (phase !== 'Running') problems.push(`${component} on ${cp.name} is ${phase}`);
        else if (!ready) problems.push(`${component} on ${cp.name} is Running but not ready`);
      }
    }
  }

  const etcd: ClusterHealthReport['etcd'] = { members: [] };
  if (o.etcd instanceof Error) problems.push(failed('asking etcd', o.etcd));
  else {
    const { members, health, status } = o.etcd;
    const leaderIds = new Set(status.map((s) => s.leaderId).filter((id) => id !== '0'));
    const healthOf = (m: EtcdMember) =>
      m.clientUrls.length > 0 && m.clientUrls.every((u) => health.some((h) => h.endpoint === u && h.healthy));
    for (const m of members) {
      const healthy = healthOf(m);
      const isLeader = leaderIds.size === 1 && leaderIds.has(m.id);
      etcd.members.push({ id: m.id, name: m.name, peerUrls: m.peerUrls, isLearner: m.isLearner, healthy, isLeader });
      if (m.isLearner) problems.push(`etcd member ${m.name || m.id} is still a learner`);
      if (!healthy) problems.push(`etcd member ${m.name || m.id} is not healthy`);
    }
    for (const cp of controlPlanes) {
      const own = members.filter((m) => m.name === cp.name || m.peerUrls.some((u) => urlHost(u) === cp.address));
      if (own.length !== 1) problems.push(`control plane ${cp.name} has ${own.length} etcd members, expected 1`);
    }
    if (members.length !== controlPlanes.length) {
      problems.push(`etcd has ${members.length} members for ${controlPlanes.length} control planes`);
    }
    const leader = etcd.members.find((m) => m.isLeader);
    if (leaderIds.size !== 1 || !leader)
      problems.push(`etcd has ${leaderIds.size === 1 ? 'an unknown' : leaderIds.size} leader(s), expected exactly one`);
    else etcd.leader = leader.name || leader.id;
  }

  const leases: ClusterHealthReport['leases'] = [];
  if (o.leases instanceof Error) problems.push(failed('reading leader leases', o.leases));
  else {
    const found = items<LeaseJson>(o.leases);
    for (const name of ['kube-controller-manager', 'kube-scheduler']) {
      const holderIdentity = found.find((l) => l.metadata?.name === name)?.spec?.holderIdentity ?? '';
      // holderIdentity is "<hostname>_<uuid>".
      const holderNode = holderIdentity.split('_')[0] ?? '';
      leases.push({ name, holderIdentity, holderNode });
      if (!holderIdentity) problems.push(`lease ${name} has no holder`);
      else if (!controlPlanes.some((cp) => cp.name === holderNode)) {
        problems.push(`lease ${name} is held by ${holderNode}, which is not a control plane of the spec`);
      }
    }
  }

  const url = `https://${o.endpoint}/readyz`;
  const readyzOk = !(o.readyz instanceof Error) && o.readyz.httpStatus === 200 && o.readyz.body.trim() === 'ok';
  if (o.readyz instanceof Error) problems.push(failed(`GET ${url}`, o.readyz));
  else if (!readyzOk) problems.push(`GET ${url} answered ${o.readyz.httpStatus}`);

  const endpointServer = `https://${o.endpoint}`;
  const localServer = `https://${formatHostPort(o.checkedOn.address, 6443)}`;
  const kubeconfigs: ClusterHealthReport['kubeconfigs'] = Object.entries(o.kubeconfigs).map(([file, text]) => {
    if (text === undefined) {
      problems.push(`${file} does not exist`);
      return { file, server: '', pointsAt: 'missing' as const };
    }
    const server = kubeconfigServer(text);
    const pointsAt =
      server === endpointServer
        ? ('endpoint' as const)
        : server === localServer
          ? ('local-apiserver' as const)
          : ('other' as const);
    if (pointsAt === 'other' || (file === adminKubeconfig && pointsAt !== 'endpoint')) {
      problems.push(`${file} points at ${server || 'nothing'}, not at ${endpointServer}`);
    }
    return { file, server, pointsAt };
  });

  const podNetwork: ClusterHealthReport['podNetwork'] = { checked: [] };
  if (o.podNetwork instanceof Error) problems.push(failed('checking pod traffic between nodes', o.podNetwork));
  else if ('skipped' in o.podNetwork) podNetwork.skipped = o.podNetwork.skipped;
  else {
    podNetwork.checked = o.podNetwork.checked;
    problems.push(...o.podNetwork.problems);
    for (const c of o.podNetwork.checked) if (!c.ok) problems.push(`pod traffic from ${c.from} to ${c.to}: ${c.error}`);
  }

  return {
    ok: problems.length === 0,
    checkedOn: o.checkedOn.name,
    endpoint: o.endpoint,
    problems,
    nodes,
    controlPlanePods,
    etcd,
    leases,
    readyz: { url, ok: readyzOk, httpStatus: o.readyz instanceof Error ? 0 : o.readyz.httpStatus },
    kubeconfigs,
    podNetwork,
  };
}
