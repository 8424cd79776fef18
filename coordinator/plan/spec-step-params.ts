// What the spec says each step needs: the nodes in each role, the endpoint, and the parameters built from them.
import { formatHostPort } from '../../common/format-host-port.ts';
import type { PlannedStepParams } from '../../proto/step-params/step-params-by-kind.ts';
import type { ClusterNodeSpec, ClusterSpec } from '../cluster-spec/cluster-spec.ts';

/**
 * keepalived's check timings: weight 0 puts a failing holder in FAULT at once, so the VIP moves
 * after fall x interval plus the skew instead of three adverts.
 */
export const vrrpCheck = { intervalS: 1, fall: 2, rise: 2, weight: 0, advertIntS: 1 } as const;
/**
 * A backup takes over (256 - priority)/256 s after the holder's priority-0 advert: 0.14 s at 219 instead of 0.42 s at
 * 149. Not higher: the old holder drops the address right after that advert, and the gap keeps the two apart.
 */
const topPriority = 220;

/** The control planes in spec order: the first one runs kubeadm init, the others join in that order. */
export function controlPlanesOf(spec: ClusterSpec): ClusterNodeSpec[] {
  return spec.spec.nodes.filter((n) => n.role === 'control-plane');
}

/** Where keepalived (and HAProxy) run: dedicated load-balancer nodes if any, else the control planes; none when external. */
export function loadBalancerNodesOf(spec: ClusterSpec): ClusterNodeSpec[] {
  if (spec.spec.endpoint.mode === 'external') return [];
  const dedicated = spec.spec.nodes.filter((n) => n.role === 'load-balancer');
  return dedicated.length > 0 ? dedicated : controlPlanesOf(spec);
}

/** "VIP:PORT", the address every kubeconfig and join uses. */
export function controlPlaneEndpointOf(spec: ClusterSpec): string {
  return formatHostPort(spec.spec.endpoint.vip, spec.spec.endpoint.port);
}

export function clusterNodes(
  nodes: ClusterNodeSpec[],
): { name: string; address: string; role: ClusterNodeSpec['role'] }[] {
  return nodes.map((n) => ({ name: n.name, address: n.address, role: n.role }));
}

/**
 * The nodes a node's /etc/hosts block names. A worker needs its own name (kubeadm's hostname check, the kubelet) and
 * the machines behind the endpoint (control planes, load-balancer nodes), never the other workers: Kubernetes reaches
 * nodes by address. Those few machines list every node, so an operator on them resolves any node name. A worker's
 * block, and its host-prep step, stay the same size however large the fleet grows.
 */
export function hostsEntriesFor(spec: ClusterSpec, node: ClusterNodeSpec): ClusterNodeSpec[] {
  if (node.role !== 'worker') return spec.spec.nodes;
  return spec.spec.nodes.filter((n) => n.role !== 'worker' || n.name === node.name);
}

function vipPrefixLength(spec: ClusterSpec, holders: ClusterNodeSpec[]): number {
  const { vip, vipPrefixLength: explicit } = spec.spec.endpoint;
  if (explicit !== undefined) return explicit;
  const fromHolder = holders.find((n) => n.prefixLength !== undefined && n.interface === undefined)?.prefixLength;
  if (fromHolder !== undefined) return fromHolder;
  return vip.includes(':') ? 128 : 32;
}

export function kubePackagesRepo(version: string): string {
  const [major, minor] = version.split('.');
  return `https://pkgs.k8s.io/core:/stable:/v${major}.${minor}/rpm/`;
}

export function loadBalancerParams(
  spec: ClusterSpec,
  node: ClusterNodeSpec,
  holders: ClusterNodeSpec[],
): PlannedStepParams<'load-balancer'> {
  const { endpoint } = spec.spec;
  const { mode } = endpoint;
  if (mode === 'external') throw new Error('an external endpoint has no load-balancer steps');
  const index = holders.findIndex((h) => h.name === node.name);
  // A lone VIP holder has no unicast peer to advertise to; multicast adverts are keepalived's way to run alone.
  const multicast = endpoint.multicast || holders.length === 1;
  return {
    mode,
    vip: endpoint.vip,
    vipPrefixLength: vipPrefixLength(spec, holders),
    interface: node.interface ?? endpoint.interface,
    virtualRouterId: endpoint.virtualRouterId,
    // Distinct priorities, the first holder (the init node when the control planes hold the VIP) highest.
    priority: Math.max(1, topPriority - index),
    multicast,
    unicastSrcIp: multicast ? '' : node.address,
    unicastPeers: multicast ? [] : holders.filter((h) => h.name !== node.name).map((h) => h.address),
    lbPort: endpoint.port,
    backends: clusterNodes(controlPlanesOf(spec)),
    checkIntervalS: vrrpCheck.intervalS,
    checkFall: vrrpCheck.fall,
    checkRise: vrrpCheck.rise,
    checkWeight: vrrpCheck.weight,
    advertIntS: vrrpCheck.advertIntS,
    nodeName: node.name,
  };
}

/** agnhost, the image of Kubernetes' own network e2e tests, from the registry kubeadm's images come from. */
export function podProbeImageOf(spec: ClusterSpec): string {
  return `${spec.spec.mirrors?.imageRepository ?? 'registry.k8s.io'}/e2e-test-images/agnhost:2.56`;
}

export function verifyParams(spec: ClusterSpec): PlannedStepParams<'verify'> {
  return {
    controlPlaneEndpoint: controlPlaneEndpointOf(spec),
    nodes: clusterNodes(spec.spec.nodes),
    // Empty (proto3's "unset") when the spec turns the check off.
    podProbeImage: spec.spec.networking.checkPodTraffic === false ? '' : podProbeImageOf(spec),
  };
}
