import { parseIp, splitPrefix } from '../spec/ip-address.ts';
import type { AgentRecord } from '../store/store.ts';

/** One key per address however it is written: "192.168.1.10/24" and "192.168.1.10", "fd00::11" and "fd00:0::11". */
function addressKey(text: string): string {
  const { address } = splitPrefix(text);
  const ip = parseIp(address);
  return ip ? `${ip.family}:${ip.value}` : address;
}

const rank = (a: AgentRecord) => (a.connected ? 1e15 : 0) + (a.lastHeartbeatAt ?? 0);

/**
 * The one rule for which agent serves a spec node: the agent that reports the node's address on an interface.
 * When two do (a re-enrolled host), the connected one with the latest heartbeat wins. Revoked agents never match.
 */
export class AgentsByAddress {
  private readonly byKey = new Map<string, AgentRecord>();

  constructor(agents: readonly AgentRecord[]) {
    for (const agent of agents) {
      for (const key of this.keysOf(agent)) {
        const current = this.byKey.get(key);
        if (!current || rank(agent) > rank(current)) this.byKey.set(key, agent);
      }
    }
  }

  get(address: string): AgentRecord | undefined {
    return this.byKey.get(addressKey(address));
  }

  has(address: string): boolean {
    return this.byKey.has(addressKey(address));
  }

  /** A newly connected agent wins the addresses it reports (a re-enrolled host replaces its old agent). */
  claim(agent: AgentRecord): void {
    for (const key of this.keysOf(agent)) this.byKey.set(key, agent);
  }

  private keysOf(agent: AgentRecord): string[] {
    if (agent.revokedAt !== null) return [];
    return agent.facts.interfaces.flatMap((iface) => iface.addresses.map(addressKey));
  }
}
