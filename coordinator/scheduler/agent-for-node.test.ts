import { describe, expect, it } from 'vitest';
import { sampleFacts } from '../../test/support/foundation-harness.ts';
import type { AgentRecord } from '../store/store.ts';
import { AgentsByAddress } from './agent-for-node.ts';

function agent(id: string, addresses: string[], over: Partial<AgentRecord> = {}): AgentRecord {
  const facts = sampleFacts(id);
  facts.interfaces = [{ name: 'eth0', mac: '52:54:00:00:00:01', addresses, virtual: false }];
  return {
    id,
    hostname: id,
    agentVersion: 'test',
    facts,
    certificateSerial: id,
    enrolledAt: 1,
    enrolledWithTokenId: 'abcdef',
    revokedAt: null,
    connected: false,
    lastHeartbeatAt: null,
    holdsVip: false,
    health: null,
    ...over,
  };
}

describe('AgentsByAddress: which agent serves a spec node', () => {
  it('GIVEN agents reporting addresses with prefixes THEN each node address finds the agent that reports it, others none', () => {
    const index = new AgentsByAddress([
      agent('a-w1', ['192.168.1.20/24']),
      agent('a-cp1', ['192.168.1.10/24', '10.0.0.1/8']),
      agent('a-other', ['192.168.1.77/24']),
    ]);
    expect(index.get('192.168.1.10')?.id).toBe('a-cp1');
    expect(index.get('10.0.0.1')?.id).toBe('a-cp1');
    expect(index.get('192.168.1.20')?.id).toBe('a-w1');
    expect(index.has('192.168.1.11')).toBe(false);
  });

  it('GIVEN an IPv6 address written two ways THEN it still finds its agent', () => {
    const index = new AgentsByAddress([agent('a', ['fd00:0:0:0::11/64'])]);
    expect(index.get('fd00::11')?.id).toBe('a');
    expect(index.get('FD00::0011')?.id).toBe('a');
  });

  it('GIVEN a re-enrolled host THEN the connected agent with the latest heartbeat wins, a revoked one never, and a newly connected one claims its addresses', () => {
    const old = agent('old', ['192.168.1.10'], { connected: false, lastHeartbeatAt: 500 });
    const fresh = agent('fresh', ['192.168.1.10'], { connected: true, lastHeartbeatAt: 100 });
    const revoked = agent('revoked', ['192.168.1.10'], { connected: true, lastHeartbeatAt: 900, revokedAt: 901 });
    const index = new AgentsByAddress([old, fresh, revoked]);
    expect(index.get('192.168.1.10')?.id).toBe('fresh');
    index.claim(old);
    expect(index.get('192.168.1.10')?.id).toBe('old');
    index.claim(revoked);
    expect(index.get('192.168.1.10')?.id).toBe('old');
  });
});
