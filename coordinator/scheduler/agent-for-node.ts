import type { AgentRecord } from '../store/store.ts';

/** "192.168.1.10/24" -> "192.168.1.10". */
function bareAddress(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash === -1 ? cidr : cidr.slice(0, slash);
}

/**
 * Indexes agents by the addresses they report. A spec node is bound to the agent that reports its address;
 * when two do (a re-enrolled host), the connected one with the latest heartbeat wins. Revoked agents never match.
 */
export function indexAgentsByAddress(agents: AgentRecord[]): Map<string, AgentRecord> {
  const index = new Map<string, AgentRecord>();
  const rank = (a: AgentRecord) => (a.connected ? 1e15 : 0) + (a.lastHeartbeatAt ?? 0);
  for (const agent of agents) {
    if (agent.revokedAt !== null) continue;
    for (const iface of agent.facts.interfaces) {
      for (const address of iface.addresses) {
        const bare = bareAddress(address);
        const current = index.get(bare);
        if (!current || rank(agent) > rank(current)) index.set(bare, agent);
      }
    }
  }
  return index;
}

export function agentForNode(address: string, agents: AgentRecord[]): AgentRecord | undefined {
  return indexAgentsByAddress(agents).get(bareAddress(address));
}
