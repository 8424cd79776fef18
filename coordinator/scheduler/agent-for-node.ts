import { parseIp, splitPrefix } from '../cluster-spec/ip-address.ts';
import type { AgentRecord } from '../store/store.ts';

/** One key per address however it is written: "192.168.1.10/24" and "192.168.1.10", "fd00::11" and "fd00:0::11". */
function addressKey(text: string): string {
  const { address } = splitPrefix(text);
  const ip = parseIp(address);
  return ip ? `${ip.family}:${ip.value}` : address;
}

const rank = (a: AgentRecord) => (a.connected ? 1e15 : 0) + (a.lastHeartbeatAt ?? 0);

/**
 * Agents by the addresses they report on their interfaces. It says which agent looks like a spec node (for display,
 * and to propose a binding); it never decides who serves one: bindings do (resolveNodeAgent). When two agents report
 * one address (a re-enrolled host), the connected one with the latest heartbeat comes first. Revoked agents never match.
 */
export class AgentsByAddress {
  private readonly byKey = new Map<string, AgentRecord[]>();

  constructor(agents: readonly AgentRecord[]) {
    for (const agent of agents) {
      for (const key of this.keysOf(agent)) {
        const list = this.byKey.get(key) ?? [];
        if (!list.some((a) => a.id === agent.id)) list.push(agent);
        list.sort((a, b) => rank(b) - rank(a));
        this.byKey.set(key, list);
      }
    }
  }

  get(address: string): AgentRecord | undefined {
    return this.byKey.get(addressKey(address))?.[0];
  }

  has(address: string): boolean {
    return this.byKey.has(addressKey(address));
  }

  /** Every unrevoked agent that reports the address, first the one `get` returns. */
  claimants(address: string): AgentRecord[] {
    return this.byKey.get(addressKey(address)) ?? [];
  }

  /**
   * Files the agent under the addresses it reports now, first (a newly connected agent comes before an old one of a
   * re-enrolled host); a revoked agent is only removed.
   */
  claim(agent: AgentRecord): void {
    for (const [key, list] of this.byKey) {
      const at = list.findIndex((a) => a.id === agent.id);
      if (at === -1) continue;
      list.splice(at, 1);
      if (list.length === 0) this.byKey.delete(key);
    }
    for (const key of this.keysOf(agent)) {
      const list = this.byKey.get(key) ?? [];
      if (!list.some((a) => a.id === agent.id)) list.unshift(agent);
      this.byKey.set(key, list);
    }
  }

  private keysOf(agent: AgentRecord): string[] {
    if (agent.revokedAt !== null) return [];
    return agent.facts.interfaces.flatMap((iface) => iface.addresses.map(addressKey));
  }
}

export interface NodeAgentResolution {
  /** The agent that serves the node, if any. */
  agent: AgentRecord | undefined;
  /** True when this resolution makes the binding (an approved agent reports the node's address). */
  bindNow: boolean;
  /** Agents that report the node's address but do not serve it: refused (node bound) or proposed (unbound). */
  claimants: AgentRecord[];
}

/**
 * Who serves a node. Bound: the bound agent, whatever anyone else reports. Unbound: an agent approved for the node's
 * name (a token scoped to it, or the operator's approval) that reports its address is bound now; an address alone only
 * proposes a binding, so an agent that lists another node's address gets nothing of that node's.
 */
export function resolveNodeAgent(input: {
  claimants: AgentRecord[];
  boundAgentId: string | undefined;
  approved: ReadonlySet<string>;
  agent: (id: string) => AgentRecord | undefined;
}): NodeAgentResolution {
  if (input.boundAgentId !== undefined) {
    const bound = input.agent(input.boundAgentId);
    return {
      agent: bound && bound.revokedAt === null ? bound : undefined,
      bindNow: false,
      claimants: input.claimants.filter((a) => a.id !== input.boundAgentId),
    };
  }
  const chosen = input.claimants.find((a) => input.approved.has(a.id));
  return { agent: chosen, bindNow: chosen !== undefined, claimants: input.claimants.filter((a) => a !== chosen) };
}
