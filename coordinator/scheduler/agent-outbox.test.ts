import { describe, expect, it } from 'vitest';
import type { MessageToAgent } from '../../proto/convert.ts';
import { AgentOutbox } from './agent-outbox.ts';

function recordingChannel(connected: Set<string>) {
  const sent: string[] = [];
  return {
    sent,
    channel: {
      send: (agentId: string, message: MessageToAgent) => {
        if (!connected.has(agentId)) return false;
        sent.push(`${agentId}:${message.ack?.step_id ?? message.cluster_phase?.cluster ?? '?'}`);
        return true;
      },
      isConnected: (agentId: string) => connected.has(agentId),
    },
  };
}

const ack = (step: string): MessageToAgent => ({ ack: { run_id: 'r', step_id: step, attempt: 1 } });
const flushed = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('AgentOutbox', () => {
  it('GIVEN an open transaction THEN messages wait for its commit, and a rollback drops them', async () => {
    const { sent, channel } = recordingChannel(new Set(['a']));
    const outbox = new AgentOutbox(channel);
    outbox.hold();
    outbox.send('a', ack('one'));
    expect(sent).toEqual([]);
    outbox.discard();
    outbox.hold();
    outbox.send('a', () => ack('two'));
    outbox.release();
    await flushed();
    expect(sent).toEqual(['a:two']);
  });

  it('GIVEN many messages THEN they leave in order, background ones after the others; a failed send is reported', async () => {
    const { sent, channel } = recordingChannel(new Set(['a']));
    const outbox = new AgentOutbox(channel);
    const failed: string[] = [];
    outbox.hold();
    outbox.send('a', { cluster_phase: { cluster: 'phase' } }, { background: true });
    for (let i = 0; i < 40; i++) outbox.send('a', ack(`s${i}`));
    outbox.send('gone', ack('x'), { onFailure: () => failed.push('gone') });
    outbox.release();
    await flushed();
    expect(sent).toEqual([...Array.from({ length: 40 }, (_, i) => `a:s${i}`), 'a:phase']);
    expect(failed).toEqual(['gone']);
  });

  it('GIVEN a wave queued WHEN a message of higher priority comes THEN it leaves first, never ahead of an earlier message to its own agent', async () => {
    const agents = ['a', 'b', 'c', ...Array.from({ length: 100 }, (_, i) => `w${i}`)];
    const { sent, channel } = recordingChannel(new Set(agents));
    const outbox = new AgentOutbox(channel);
    outbox.hold();
    for (let i = 0; i < 100; i++) outbox.send(`w${i}`, ack(`wave${i}`), { priority: 1 });
    outbox.send('a', ack('a-first'), { priority: 1 });
    outbox.release();
    outbox.send('b', ack('critical'), { priority: 5 });
    outbox.send('a', ack('a-second'), { priority: 5 });
    outbox.send('c', ack('ack'));
    await flushed();
    // The first slice of the wave left at once; of the rest, b's message goes first; a's second waits for a's first,
    // which is queued behind the wave.
    const order = (entry: string) => sent.indexOf(entry);
    expect(sent).toHaveLength(104);
    expect(order('b:critical')).toBe(32);
    expect(order('a:a-first')).toBe(order('w99:wave99') + 1);
    expect(order('a:a-second')).toBe(order('a:a-first') + 1);
    expect(order('c:ack')).toBe(103);
  });
});
