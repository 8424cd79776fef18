import type { VipTransition } from '../../proto/convert.ts';

/** One node's VIP changes as its agent reported them, on the agent's clock, oldest first. */
export interface AgentVipHistory {
  transitions: { atMs: number; held: boolean }[];
  /**
   * How far the coordinator's clock is ahead of the agent's, plus the fastest message's transit: the smallest
   * (received - sent) over the agent's recent messages. Undefined before the first message.
   */
  clockOffsetMs: number | undefined;
}

const keptTransitions = 64;
/** About two minutes of heartbeats at the default 5 s; more during a drill, when transitions add samples. */
const keptClockSamples = 24;

/**
 * The VIP transitions every agent reports, and the clock samples its messages carry, in memory: the drill that reads
 * them starts over after a coordinator restart, and agents send their current state with every new session.
 */
export class AgentVipTimelines {
  private readonly agents = new Map<string, { transitions: VipTransition[]; clockSamples: number[] }>();

  private entry(agentId: string) {
    let entry = this.agents.get(agentId);
    if (!entry) {
      entry = { transitions: [], clockSamples: [] };
      this.agents.set(agentId, entry);
    }
    return entry;
  }

  clockSample(agentId: string, sentAtMs: number, receivedAtMs: number): void {
    const samples = this.entry(agentId).clockSamples;
    samples.push(receivedAtMs - sentAtMs);
    if (samples.length > keptClockSamples) samples.shift();
  }

  transition(agentId: string, transition: VipTransition): void {
    const list = this.entry(agentId).transitions;
    // Messages of one session arrive in order, but a reconnect re-sends the state: keep the list sorted by time.
    let at = list.length;
    while (at > 0 && list[at - 1]!.atMs > transition.atMs) at--;
    list.splice(at, 0, transition);
    if (list.length > keptTransitions) list.shift();
  }

  history(agentId: string): AgentVipHistory {
    const entry = this.agents.get(agentId);
    return {
      transitions: (entry?.transitions ?? []).map((t) => ({ atMs: t.atMs, held: t.held })),
      clockOffsetMs: entry && entry.clockSamples.length > 0 ? Math.min(...entry.clockSamples) : undefined,
    };
  }

  forget(agentId: string): void {
    this.agents.delete(agentId);
  }
}
