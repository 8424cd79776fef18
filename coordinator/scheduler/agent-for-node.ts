import type { AgentRecord } from '../store/store.ts';

/** "192.168.1.10/24" -> "192.168.1.10". */
function bareAddress(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash === -1 ? cidr : cidr.slice(0, slash);
}

const rank = (a: AgentRecord) => (a.connected ? 1e15 : 0) + (a.lastHeartbeatAt ?? 0);

/**
 * Indexes agents by the addresses they report, for display and planning (which agent looks like which node); it
 * never decides who serves a node: bindings do. When two report one address, the connected one with the latest
 * heartbeat wins. Revoked agents never match.
 */
export function indexAgentsByAddress(agents: AgentRecord[]): Map<string, AgentRecord> {
  const index = new Map<string, AgentRecord>();
  for (const [address, claimants] of indexClaimantsByAddress(agents)) index.set(address, claimants[0]!);
  return index;
}

/** Every unrevoked agent that reports each address, best first (connected, latest heartbeat). */
export function indexClaimantsByAddress(agents: AgentRecord[]): Map<string, AgentRecord[]> {
  const index = new Map<string, AgentRecord[]>();
  for (const agent of agents) addClaimant(index, agent);
  return index;
}

/** Puts the agent (again) under every address it reports now; a revoked agent is only removed. */
export function addClaimant(index: Map<string, AgentRecord[]>, agent: AgentRecord): void {
  for (const [address, list] of index) {
    const at = list.findIndex((a) => a.id === agent.id);
    if (at === -1) continue;
    list.splice(at, 1);
    if (list.length === 0) index.delete(address);
  }
  if (agent.revokedAt !== null) return;
  for (const iface of agent.facts.interfaces) {
    for (const address of iface.addresses) {
      const bare = bareAddress(address);
      const list = index.get(bare) ?? [];
      if (list.some((a) => a.id === agent.id)) continue;
      list.push(agent);
      list.sort((a, b) => rank(b) - rank(a));
      index.set(bare, list);
    }
  }
}

export function agentForNode(address: string, agents: AgentRecord[]): AgentRecord | undefined {
  return indexAgentsByAddress(agents).get(bareAddress(address));
}

export interface NodeAgentResolution {
  /** The agent that serves the node, if any. */
  agent: AgentRecord | undefined;
  /** True when this resolution makes the binding (an approved agent reports the node's address). */
  bindNow: boolean;
  /** Agents that report the node's address but are not allowed to serve it: refused (node bound) or proposed. */
  claimants: AgentRecord[];
}

/**
 * Who serves a node. Bound: the bound agent, whatever anyone else reports. Unbound: an agent approved for the node's
 * name (a token scoped to it, or the operator's approval) that reports its address is bound now; an address alone only
 * proposes a binding, so an agent that lists another node's address gets nothing of that node's.
 */
export function resolveNodeAgent(input: {
  address: string;
  boundAgentId: string | undefined;
  approved: ReadonlySet<string>;
  claimantsByAddress: Map<string, AgentRecord[]>;
  agent: (id: string) => AgentRecord | undefined;
}): NodeAgentResolution {
  const claimants = input.claimantsByAddress.get(bareAddress(input.address)) ?? [];
  if (input.boundAgentId !== undefined) {
    const bound = input.agent(input.boundAgentId);
    return {
      agent: bound && bound.revokedAt === null ? bound : undefined,
      bindNow: false,
      claimants: claimants.filter((a) => a.id !== input.boundAgentId),
    };
  }
  const chosen = claimants.find((a) => input.approved.has(a.id));
  return {
    agent: chosen,
    bindNow: chosen !== undefined,
    claimants: claimants.filter((a) => a !== chosen),
  };
}
