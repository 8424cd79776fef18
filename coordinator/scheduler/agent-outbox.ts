import type { MessageToAgent } from '../../proto/convert.ts';

/** The gateway as the scheduler sees it. */
export interface AgentChannel {
  send(agentId: string, message: MessageToAgent): boolean;
  isConnected(agentId: string): boolean;
}

interface Outgoing {
  agentId: string;
  /** A factory defers the conversion of large parameters until the message leaves. */
  message: MessageToAgent | (() => MessageToAgent);
  onFailure: (() => void) | undefined;
  background: boolean;
  priority: number;
}

export interface SendOptions {
  onFailure?: () => void;
  /** Behind every other message (ClusterPhase to every node). */
  background?: boolean;
  /** Higher leaves first (a RunStep: its step's height in the DAG); in order among equals. Default 0. */
  priority?: number;
}

const slice = 32;

/** The priority of a CancelStep: below every RunStep, so it never overtakes the RunStep it cancels. */
export const cancelPriority = -1;

/**
 * Messages to agents. While the scheduler's transaction is open they are held, and sent only once it has committed
 * (or dropped if it rolled back). They leave in slices with a yield between them, so the first messages of a wide
 * wave (a thousand RunSteps) reach the wire while the rest are still being encoded; the highest priority first, so a
 * critical-path step that becomes ready while a wave is still leaving goes ahead of it; background messages
 * (ClusterPhase to every node) wait behind the others.
 */
export class AgentOutbox {
  private readonly channel: AgentChannel;
  private held: Outgoing[] | undefined;
  /** Queued messages by priority, each queue in order. */
  private readonly urgent = new Map<number, Outgoing[]>();
  private readonly later: Outgoing[] = [];
  private draining = false;

  constructor(channel: AgentChannel) {
    this.channel = channel;
  }

  send(agentId: string, message: Outgoing['message'], options: SendOptions = {}): void {
    const outgoing = {
      agentId,
      message,
      onFailure: options.onFailure,
      background: options.background ?? false,
      priority: options.priority ?? 0,
    };
    if (this.held) this.held.push(outgoing);
    else this.enqueue([outgoing]);
  }

  /** From now until release() or discard(), messages wait for the transaction to commit. */
  hold(): void {
    this.held = [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.enqueue(held);
  }

  discard(): void {
    this.held = undefined;
  }

  private enqueue(messages: Outgoing[]): void {
    for (const m of messages) {
      if (m.background) {
        this.later.push(m);
        continue;
      }
      const queue = this.urgent.get(m.priority);
      if (queue) queue.push(m);
      else this.urgent.set(m.priority, [m]);
    }
    if (!this.draining) this.drain();
  }

  private takeUrgent(count: number): Outgoing[] {
    const taken: Outgoing[] = [];
    while (taken.length < count && this.urgent.size > 0) {
      const highest = Math.max(...this.urgent.keys());
      const queue = this.urgent.get(highest)!;
      taken.push(...queue.splice(0, count - taken.length));
      if (queue.length === 0) this.urgent.delete(highest);
    }
    return taken;
  }

  private drain(): void {
    const batch = this.takeUrgent(slice);
    if (batch.length < slice) batch.push(...this.later.splice(0, slice - batch.length));
    for (const m of batch) {
      const message = typeof m.message === 'function' ? m.message() : m.message;
      if (!this.channel.send(m.agentId, message)) m.onFailure?.();
    }
    this.draining = this.urgent.size > 0 || this.later.length > 0;
    if (this.draining) setImmediate(() => this.drain());
  }
}
