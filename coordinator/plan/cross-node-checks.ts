import type { NodeFacts } from '../../proto/convert.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { networkContains, networkOf, parseIp, splitPrefix } from '../cluster-spec/ip-address.ts';
import { loadBalancerNodesOf } from './spec-step-params.ts';

export type CrossNodeFindingCode =
  | 'no-facts'
  | 'duplicate-hostname'
  | 'duplicate-mac'
  | 'duplicate-product-uuid'
  | 'duplicate-machine-id'
  | 'address-not-reported'
  | 'vip-in-use'
  | 'endpoint-unreachable'
  | 'vip-outside-subnet'
  | 'interface-missing'
  | 'cgroup-v1-unsupported'
  | 'preflight-failed';

export interface CrossNodeFinding {
  code: CrossNodeFindingCode;
  /**
   * "error" stops the run before any node changes. "warning" is reported and the run goes on: a duplicate
   * hostname, which host-prep fixes by setting each node's hostname to its (unique) spec name, and cgroup v1 where
   * the spec allows it.
   */
  severity: 'error' | 'warning';
  message: string;
  /** The spec nodes involved, in spec order; empty for the external load balancer, which is no spec node. */
  nodes: string[];
}

export interface CrossNodeExtras {
  /**
   * Whether something answered for the VIP (ARP/ND or a connect) before any node holds it: a finding in the VRRP
   * modes; in mode external the operator's load balancer must answer, so false is the finding there.
   */
  vipAnswers?: boolean;
  /** Nodes whose preflight failed, with the reason. */
  preflightFailures?: Map<string, string>;
}

/** kubelet 1.35 refuses to start on cgroup v1 hosts. */
const firstMinorWithoutCgroupV1 = 35;

/** MACs that are not a NIC's identity: empty, all zero (loopback), or locally administered (bridges, veths, VRRP). */
function isIdentityMac(mac: string): boolean {
  const normalized = mac.toLowerCase();
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(normalized)) return false;
  if (normalized === '00:00:00:00:00:00') return false;
  return (Number.parseInt(normalized.slice(0, 2), 16) & 0x02) === 0;
}

function addressesOf(facts: NodeFacts): string[] {
  return facts.interfaces.flatMap((i) => i.addresses.map((a) => splitPrefix(a).address));
}

function sameAddress(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value;
}

/**
 * Checks across nodes, from the facts their agents reported, before anything changes on a node, so that a
 * mistake in the spec (a wrong address, an interface that is not there) stops the run while nothing is half done.
 * `factsByNode` has an entry per spec node, undefined when no agent serves it (yet).
 */
export function crossNodeChecks(
  spec: ClusterSpec,
  factsByNode: Map<string, NodeFacts | undefined>,
  extras: CrossNodeExtras = {},
): CrossNodeFinding[] {
  const findings: CrossNodeFinding[] = [];
  const nodes = spec.spec.nodes;
  const reported = nodes.flatMap((node) => {
    const facts = factsByNode.get(node.name);
    return facts ? [{ node, facts }] : [];
  });

  for (const node of nodes) {
    if (!factsByNode.get(node.name)) {
      findings.push({
        code: 'no-facts',
        severity: 'error',
        message: `no agent has reported facts for ${node.name} (${node.address}): enroll its agent or check the spec's address`,
        nodes: [node.name],
      });
    }
  }

  const duplicates = (
    code: CrossNodeFindingCode,
    what: string,
    keysOf: (facts: NodeFacts) => string[],
    severity: 'error' | 'warning',
    advice: string,
  ) => {
    const owners = new Map<string, string[]>();
    for (const { node, facts } of reported) {
      for (const key of new Set(keysOf(facts))) {
        const list = owners.get(key) ?? [];
        if (!list.includes(node.name)) list.push(node.name);
        owners.set(key, list);
      }
    }
    for (const [key, names] of owners) {
      if (names.length < 2) continue;
      findings.push({
        code,
        severity,
        message: `${names.join(', ')} share the ${what} ${key}: ${advice}`,
        nodes: names,
      });
    }
  };
  duplicates(
    'duplicate-hostname',
    'hostname',
    (f) => (f.hostname ? [f.hostname.toLowerCase()] : []),
    'warning',
    "host-prep sets each node's hostname to its spec name",
  );
  duplicates(
    'duplicate-mac',
    'MAC address',
    (f) => f.interfaces.filter((i) => !i.virtual && isIdentityMac(i.mac)).map((i) => i.mac.toLowerCase()),
    'error',
    'cloned VMs? give each VM its own MAC address',
  );
  duplicates(
    'duplicate-product-uuid',
    'product_uuid',
    (f) => (f.productUuid ? [f.productUuid.toLowerCase()] : []),
    'error',
    'cloned VMs? kubeadm needs a unique product_uuid per node',
  );
  duplicates(
    'duplicate-machine-id',
    'machine-id',
    (f) => (f.machineId ? [f.machineId] : []),
    'error',
    'cloned images? regenerate /etc/machine-id (systemd-machine-id-setup) on each',
  );

  for (const { node, facts } of reported) {
    if (!addressesOf(facts).some((a) => sameAddress(a, node.address))) {
      findings.push({
        code: 'address-not-reported',
        severity: 'error',
        message: `${node.name}: its agent reports no interface with the spec's address ${node.address} (it has ${addressesOf(facts).join(', ') || 'none'})`,
        nodes: [node.name],
      });
    }
  }

  const { endpoint } = spec.spec;
  if (endpoint.mode === 'external' && extras.vipAnswers === false) {
    findings.push({
      code: 'endpoint-unreachable',
      severity: 'error',
      message: `the external load balancer ${endpoint.vip} does not answer on port ${endpoint.port}`,
      nodes: [],
    });
  } else if (endpoint.mode !== 'external' && extras.vipAnswers) {
    findings.push({
      code: 'vip-in-use',
      severity: 'error',
      message: `the VIP ${endpoint.vip} already answers before any node holds it: another host or VRRP router uses it`,
      nodes: loadBalancerNodesOf(spec).map((n) => n.name),
    });
  }
  if (endpoint.mode !== 'external') checkVipHolders(spec, factsByNode, findings);

  const minor = Number(spec.spec.kubernetesVersion.split('.')[1]);
  for (const { node, facts } of reported) {
    if (node.role !== 'load-balancer' && minor >= firstMinorWithoutCgroupV1 && facts.cgroupVersion === 1) {
      const allowed = spec.spec.hostPolicy.allowCgroupV1;
      findings.push({
        code: 'cgroup-v1-unsupported',
        severity: allowed ? 'warning' : 'error',
        message: allowed
          ? `${node.name} runs cgroup v1 with Kubernetes ${spec.spec.kubernetesVersion}, allowed by spec.hostPolicy.allowCgroupV1 (unmaintained in Kubernetes; move to cgroup v2)`
          : `${node.name} runs cgroup v1; Kubernetes ${spec.spec.kubernetesVersion} needs cgroup v2 (EL8: boot with systemd.unified_cgroup_hierarchy=1) or spec.hostPolicy.allowCgroupV1: true`,
        nodes: [node.name],
      });
    }
  }

  for (const node of nodes) {
    const reason = extras.preflightFailures?.get(node.name);
    if (reason !== undefined) {
      findings.push({
        code: 'preflight-failed',
        severity: 'error',
        message: `${node.name}: preflight failed: ${reason}`,
        nodes: [node.name],
      });
    }
  }
  return findings;
}

/** keepalived needs the VIP's interface on each holder, and the VIP inside that interface's subnet. */
function checkVipHolders(
  spec: ClusterSpec,
  factsByNode: Map<string, NodeFacts | undefined>,
  findings: CrossNodeFinding[],
): void {
  const { endpoint } = spec.spec;
  const vip = parseIp(endpoint.vip);
  const missing: string[] = [];
  const outside: string[] = [];
  for (const node of loadBalancerNodesOf(spec)) {
    const facts = factsByNode.get(node.name);
    if (!facts) continue;
    const name = node.interface ?? endpoint.interface;
    const nic = facts.interfaces.find((i) => i.name === name);
    if (!nic) {
      missing.push(node.name);
      continue;
    }
    const subnets = nic.addresses.flatMap((a) => {
      const { address, prefixLength } = splitPrefix(a);
      const ip = parseIp(address);
      return ip && prefixLength !== undefined && !Number.isNaN(prefixLength) ? [networkOf(ip, prefixLength)] : [];
    });
    if (vip && subnets.length > 0 && !subnets.some((net) => networkContains(net, vip))) outside.push(node.name);
  }
  if (missing.length > 0) {
    findings.push({
      code: 'interface-missing',
      severity: 'error',
      message: `${missing.join(', ')}: no interface named ${endpoint.interface} for the VIP (set spec.endpoint.interface or the node's interface)`,
      nodes: missing,
    });
  }
  if (outside.length > 0) {
    findings.push({
      code: 'vip-outside-subnet',
      severity: 'error',
      message: `the VIP ${endpoint.vip} is outside the subnet of the VIP interface on ${outside.join(', ')}`,
      nodes: outside,
    });
  }
}
