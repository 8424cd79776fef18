// Where a node's keepalived and HAProxy stand in the cluster: the VIP, the peers it advertises to and the apiservers
// it forwards to. The coordinator records it for each node when a load-balancer step succeeds there, and compares it
// with what the applied spec says to find the nodes a change of the control planes went past.
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { loadBalancerNodesOf, loadBalancerParams } from './spec-step-params.ts';

/** A canonical text of the parts of load-balancer step parameters that follow the cluster's membership. */
export function loadBalancerPosition(params: Record<string, unknown>): string {
  const peers = Array.isArray(params['unicastPeers']) ? params['unicastPeers'].map(String) : [];
  const backends = Array.isArray(params['backends'])
    ? params['backends'].map((b) => {
        const backend = b as { name?: unknown; address?: unknown };
        return `${String(backend.name)}@${String(backend.address)}`;
      })
    : [];
  return JSON.stringify({
    vip: String(params['vip'] ?? ''),
    unicastPeers: [...peers].sort(),
    backends: [...backends].sort(),
  });
}

/** What each node running keepalived should hold according to `spec`, by node name. */
export function expectedLoadBalancerPositions(spec: ClusterSpec): Map<string, string> {
  if (spec.spec.endpoint.mode === 'external') return new Map();
  const holders = loadBalancerNodesOf(spec);
  return new Map(holders.map((n) => [n.name, loadBalancerPosition(loadBalancerParams(spec, n, holders))]));
}

/** "backends cp1, cp2, cp3; peers 10.0.0.2" from a recorded position, for an event that says what differs. */
export function describePosition(position: string): string {
  const { backends, unicastPeers } = JSON.parse(position) as { backends: string[]; unicastPeers: string[] };
  const names = backends.map((b) => b.slice(0, b.indexOf('@')));
  return `backends ${names.join(', ') || 'none'}; unicast peers ${unicastPeers.join(', ') || 'none (multicast)'}`;
}
