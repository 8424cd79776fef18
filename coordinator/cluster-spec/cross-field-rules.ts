import type { EndpointMode } from './cluster-spec.ts';
import { clusterSpecDefaults } from './cluster-spec-document.ts';
import {
  bitsOf,
  formatIp,
  type IpAddress,
  type IpNetwork,
  networkContains,
  networkOf,
  networksOverlap,
} from './ip-address.ts';
import type { DraftNode, Problems, SpecDraft } from './spec-draft.ts';

/** The rules that compare fields with each other; each judges only the fields that passed their own checks. */
export function checkCrossFieldRules(draft: SpecDraft, problems: Problems): void {
  checkEndpointInterface(draft, problems);
  checkCniManifestUrl(draft, problems);
  checkNodes(problems, draft.nodes, { mode: draft.mode, allowEvenControlPlanes: draft.allowEvenControlPlanes });
  checkEndpoint(problems, draft.nodes, {
    mode: draft.mode,
    vip: draft.vip,
    vipPrefixLength: draft.vipPrefixLength,
    port: endpointPort(draft),
  });
  checkNetworks(problems, draft.nodes, { pod: draft.podNetwork, service: draft.serviceNetwork, vip: draft.vip });
}

const apiserverPort = 6443;
/** kube-controller-manager's default --node-cidr-mask-size: each node gets a /24 (IPv4) or /64 (IPv6) of the pod CIDR. */
const nodePodPrefix = { 4: 24, 6: 64 } as const;
/** kube-apiserver refuses a service range of more than 20 host bits. */
const maxServiceHostBits = 20;

/** The port the endpoint listens on: as written, else the mode's default; undefined when unusable. */
function endpointPort(draft: SpecDraft): number | undefined {
  if (!draft.endpoint) return undefined;
  if (draft.endpoint.portGiven) return draft.port;
  return draft.mode === 'keepalived' ? clusterSpecDefaults.keepalivedPort : clusterSpecDefaults.haproxyPort;
}

/** keepalived needs the interface that holds the VIP; the operator's load balancer (mode external) needs none. */
function checkEndpointInterface(draft: SpecDraft, problems: Problems): void {
  if (!draft.endpoint) return;
  const vrrp = draft.mode === 'haproxy-keepalived' || draft.mode === 'keepalived';
  if (vrrp && !draft.endpoint.interfaceGiven) report(problems, 'spec.endpoint.interface', 'required');
  if (draft.mode === 'external' && draft.endpoint.interfaceGiven) {
    report(problems, 'spec.endpoint.interface', 'only meaningful in modes haproxy-keepalived and keepalived');
  }
}

/** A manifest fetched over http:// can be altered on the way; the operator must say that is acceptable. */
function checkCniManifestUrl(draft: SpecDraft, problems: Problems): void {
  const url = draft.cniManifest?.url;
  if (url?.startsWith('http://') && draft.cniManifest?.allowHttp !== true) {
    report(
      problems,
      'spec.networking.cniManifest.url',
      'http:// downloads can be altered on the way: use https://, or set allowHttp: true',
    );
  }
}

function report(problems: Problems, path: string, message: string): void {
  problems.push(`${path}: ${message}`);
}

function checkNodes(
  problems: Problems,
  nodes: DraftNode[],
  options: { mode: EndpointMode | undefined; allowEvenControlPlanes: boolean | undefined },
): void {
  const firstByName = new Map<string, DraftNode>();
  const firstByAddress = new Map<bigint, DraftNode>();
  for (const node of nodes) {
    if (node.name !== undefined) {
      const first = firstByName.get(node.name);
      if (first) report(problems, `${node.path}.name`, `"${node.name}" is already the name of ${first.path}`);
      else firstByName.set(node.name, node);
    }
    if (node.ip) {
      const key = (BigInt(node.ip.family) << 128n) | node.ip.value;
      const first = firstByAddress.get(key);
      if (first) report(problems, `${node.path}.address`, `${node.ip.text} is already the address of ${first.path}`);
      else firstByAddress.set(key, node);
    }
  }

  const families = new Set(nodes.flatMap((n) => (n.ip ? [n.ip.family] : [])));
  if (families.size > 1) report(problems, 'spec.nodes', 'mixes IPv4 and IPv6 node addresses; use one family');

  if (nodes.length === 0 || nodes.some((n) => n.role === undefined)) return;
  const controlPlanes = nodes.filter((n) => n.role === 'control-plane');
  if (controlPlanes.length === 0) {
    report(problems, 'spec.nodes', 'no node has role control-plane; at least one is needed');
  } else if (controlPlanes.length % 2 === 0 && options.allowEvenControlPlanes === false) {
    report(
      problems,
      'spec.nodes',
      `${controlPlanes.length} control planes: etcd needs an odd number (an even one tolerates no more failures than one fewer); set spec.allowEvenControlPlanes to accept it`,
    );
  }
  const loadBalancers = nodes.filter((n) => n.role === 'load-balancer');
  if (loadBalancers.length > 0 && options.mode !== undefined && options.mode !== 'haproxy-keepalived') {
    for (const node of loadBalancers) {
      report(
        problems,
        `${node.path}.role`,
        `load-balancer nodes exist only in mode haproxy-keepalived, not ${options.mode}`,
      );
    }
  } else if (loadBalancers.length === 1) {
    report(
      problems,
      'spec.nodes',
      `one load-balancer node (${loadBalancers[0]!.path}); at least two are needed for the VIP to fail over`,
    );
  }
}

/** The nodes keepalived runs on: the load-balancer nodes when there are any, else the control planes. */
function vipHolders(nodes: DraftNode[]): DraftNode[] {
  const loadBalancers = nodes.filter((n) => n.role === 'load-balancer');
  return loadBalancers.length > 0 ? loadBalancers : nodes.filter((n) => n.role === 'control-plane');
}

function checkEndpoint(
  problems: Problems,
  nodes: DraftNode[],
  endpoint: { mode: EndpointMode | undefined; vip?: IpAddress; vipPrefixLength?: number; port: number | undefined },
): void {
  const { mode, vip, port } = endpoint;
  // Dedicated load-balancer nodes could use 6443, but one rule for both layouts keeps a later move of HAProxy onto
  // the control planes possible, and the agent refuses 6443 for HAProxy anywhere.
  if (mode === 'haproxy-keepalived' && port === apiserverPort) {
    report(
      problems,
      'spec.endpoint.port',
      `HAProxy cannot listen on ${apiserverPort}: kube-apiserver binds it on the control planes (default 16443)`,
    );
  }
  if (mode === 'keepalived' && port !== undefined && port !== apiserverPort) {
    report(
      problems,
      'spec.endpoint.port',
      `must be ${apiserverPort} in mode keepalived: the VIP lands on a control plane and kube-apiserver listens on ${apiserverPort}`,
    );
  }
  if (!vip) return;
  for (const node of nodes) {
    if (node.ip && node.ip.family === vip.family && node.ip.value === vip.value) {
      report(
        problems,
        'spec.endpoint.vip',
        `${vip.text} is the address of ${node.path}; the VIP must be a free address`,
      );
    }
  }
  if (mode === 'external') return;
  const outside = new Map<string, string[]>();
  const outsideVipPrefix: string[] = [];
  const edge = new Map<string, string[]>();
  const note = (groups: Map<string, string[]>, subnet: string, path: string) =>
    groups.set(subnet, [...(groups.get(subnet) ?? []), path]);
  const vipNet = endpoint.vipPrefixLength === undefined ? undefined : networkOf(vip, endpoint.vipPrefixLength);
  for (const node of vipHolders(nodes)) {
    // A node whose VIP sits on another interface (its own `interface`) need not share a subnet with the VIP.
    if (!node.ip || node.interface !== undefined) continue;
    if (vipNet && !networkContains(vipNet, node.ip)) {
      outsideVipPrefix.push(`${node.path} (${node.ip.text})`);
      continue;
    }
    if (node.prefixLength === undefined) continue;
    const net = networkOf(node.ip, node.prefixLength);
    if (!networkContains(net, vip)) {
      note(outside, subnetText(net), node.path);
    } else if (vip.family === 4 && node.prefixLength < 31) {
      const hostMask = (1n << BigInt(32 - node.prefixLength)) - 1n;
      if (vip.value === net.network || vip.value === (net.network | hostMask)) note(edge, subnetText(net), node.path);
    }
  }
  const advice = "keepalived holds the VIP on the node's own segment (or give the node the interface that has it)";
  if (vipNet && outsideVipPrefix.length > 0) {
    report(
      problems,
      'spec.endpoint.vip',
      `the VIP's subnet ${subnetText(vipNet)} does not contain ${outsideVipPrefix.join(', ')}; ${advice}`,
    );
  }
  for (const [subnet, paths] of outside) {
    report(
      problems,
      'spec.endpoint.vip',
      `${vip.text} is outside the subnet ${subnet} of ${paths.join(', ')}; ${advice}`,
    );
  }
  for (const [subnet, paths] of edge) {
    report(
      problems,
      'spec.endpoint.vip',
      `${vip.text} is the network or broadcast address of ${subnet} (${paths.join(', ')})`,
    );
  }
}

function subnetText(net: IpNetwork): string {
  return `${formatIp(net.family, net.network)}/${net.prefixLength}`;
}

function checkNetworks(
  problems: Problems,
  nodes: DraftNode[],
  networks: { pod?: IpNetwork; service?: IpNetwork; vip?: IpAddress },
): void {
  const { pod, service, vip } = networks;
  const named = [
    { path: 'spec.networking.podCIDR', net: pod },
    { path: 'spec.networking.serviceCIDR', net: service },
  ];
  if (pod && service) {
    if (pod.family !== service.family) {
      report(
        problems,
        'spec.networking.serviceCIDR',
        `is IPv${service.family} but podCIDR is IPv${pod.family}; dual-stack is not supported`,
      );
    } else if (networksOverlap(pod, service)) {
      report(problems, 'spec.networking.serviceCIDR', `${service.text} overlaps podCIDR ${pod.text}`);
    }
  }
  if (service && bitsOf(service.family) - service.prefixLength > maxServiceHostBits) {
    report(
      problems,
      'spec.networking.serviceCIDR',
      `${service.text} is too large: kube-apiserver accepts at most ${maxServiceHostBits} host bits (/${bitsOf(service.family) - maxServiceHostBits})`,
    );
  }
  if (pod) {
    const perNode = nodePodPrefix[pod.family];
    const kubeletNodes = nodes.filter((n) => n.role !== 'load-balancer').length;
    if (pod.prefixLength > perNode) {
      report(problems, 'spec.networking.podCIDR', `${pod.text} is smaller than one node's pod range (/${perNode})`);
    } else if (pod.prefixLength > perNode - 31 && 2 ** (perNode - pod.prefixLength) < kubeletNodes) {
      report(
        problems,
        'spec.networking.podCIDR',
        `${pod.text} has room for ${2 ** (perNode - pod.prefixLength)} node pod ranges (/${perNode} each) but the spec has ${kubeletNodes} Kubernetes nodes`,
      );
    }
  }
  for (const { path, net } of named) {
    if (!net) continue;
    const reportedSubnets = new Set<bigint>();
    const contained: string[] = [];
    for (const node of nodes) {
      if (!node.ip) continue;
      if (networkContains(net, node.ip)) {
        contained.push(`${node.path} (${node.ip.text})`);
        continue;
      }
      if (node.prefixLength === undefined) continue;
      const subnet = networkOf(node.ip, node.prefixLength);
      const key = (subnet.network << 8n) | BigInt(subnet.prefixLength);
      if (networksOverlap(net, subnet) && !reportedSubnets.has(key)) {
        reportedSubnets.add(key);
        report(problems, path, `${net.text} overlaps the subnet ${node.ip.text}/${node.prefixLength} of ${node.path}`);
      }
    }
    if (contained.length > 0) {
      report(
        problems,
        path,
        `${net.text} contains the address${contained.length > 1 ? 'es' : ''} of ${contained.join(', ')}`,
      );
    }
    if (vip && networkContains(net, vip)) report(problems, path, `${net.text} contains the VIP ${vip.text}`);
  }
}
