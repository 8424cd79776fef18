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
}

const slice = 32;

/**
 * Messages to agents, in order. While the scheduler's transaction is open they are held, and sent only once it has
 * committed (or dropped if it rolled back). They leave in slices with a yield between them, so the first messages of
 * a wide wave (a thousand RunSteps) reach the wire while the rest are still being encoded; background messages
 * (ClusterPhase to every node) wait behind the others.
 */
export class AgentOutbox {
  private readonly channel: AgentChannel;
  private held: Outgoing[] | undefined;
  private readonly urgent: Outgoing[] = [];
  private readonly later: Outgoing[] = [];
  private draining = false;

  constructor(channel: AgentChannel) {
    this.channel = channel;
  }

  send(
    agentId: string,
    message: Outgoing['message'],
    options: { onFailure?: () => void; background?: boolean } = {},
  ): void {
    const outgoing = { agentId, message, onFailure: options.onFailure, background: options.background ?? false };
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
    for (const m of messages) (m.background ? this.later : this.urgent).push(m);
    if (!this.draining) this.drain();
  }

  private drain(): void {
    const batch = this.urgent.splice(0, slice);
    if (batch.length < slice) batch.push(...this.later.splice(0, slice - batch.length));
    for (const m of batch) {
      const message = typeof m.message === 'function' ? m.message() : m.message;
      if (!this.channel.send(m.agentId, message)) m.onFailure?.();
    }
    this.draining = this.urgent.length > 0 || this.later.length > 0;
    if (this.draining) setImmediate(() => this.drain());
  }
}
