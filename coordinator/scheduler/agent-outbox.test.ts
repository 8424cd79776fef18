import { describe, expect, it } from 'vitest';
import type { MessageToAgent } from '../../proto/convert.ts';
import { AgentOutbox, cancelPriority } from './agent-outbox.ts';

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

  it('GIVEN a wave queued WHEN a message of higher priority comes THEN it leaves first; a cancel never passes its RunStep', async () => {
    const agents = ['a', 'b', 'c', ...Array.from({ length: 100 }, (_, i) => `w${i}`)];
    const { sent, channel } = recordingChannel(new Set(agents));
    const outbox = new AgentOutbox(channel);
    outbox.hold();
    for (let i = 0; i < 100; i++) outbox.send(`w${i}`, ack(`wave${i}`), { priority: 1 });
    outbox.release();
    outbox.send('b', ack('critical'), { priority: 5 });
    outbox.send('w99', ack('cancel'), { priority: cancelPriority });
    outbox.send('c', ack('ack'));
    await flushed();
    // The first slice of the wave left at once; of the rest, b's message goes first, the cancel after the wave.
    const order = (entry: string) => sent.indexOf(entry);
    expect(sent).toHaveLength(103);
    expect(order('b:critical')).toBe(32);
    expect(order('c:ack')).toBe(101);
    expect(order('w99:cancel')).toBe(102);
  });
});
