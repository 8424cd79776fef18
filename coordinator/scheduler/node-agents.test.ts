import { afterEach, describe, expect, it } from 'vitest';
import { capturedLogger } from '../../test/support/captured-logs.ts';
import { enrollAgentsInStore } from '../../test/support/enrolled-agents.ts';
import { sampleFacts } from '../../test/support/foundation-harness.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { ActiveRuns } from './active-run.ts';
import { AgentOutbox } from './agent-outbox.ts';
import { NodeAgents } from './node-agents.ts';
import { RunEventBus } from './run-event-bus.ts';
import { RunJournal } from './run-journal.ts';

const stores: SqliteStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

const spec = {
  metadata: { name: 'lab' },
  spec: { nodes: [{ name: 'cp1', address: '10.0.0.11/24', role: 'control-plane' }] },
} as unknown as ClusterSpec;

/** NodeAgents over an in-memory store with agent a1 enrolled and approved for cp1, counting reads of agent rows. */
function setUp() {
  const store = new SqliteStore(':memory:');
  stores.push(store);
  enrollAgentsInStore(store, [{ id: 'a1', hostname: 'cp1', address: '10.0.0.11/24' }]);
  store.bindings.approve('a1', 'cp1', 1);
  const reads: string[] = [];
  const get = store.agents.get.bind(store.agents);
  store.agents.get = (id) => {
    reads.push(id);
    return get(id);
  };
  const journal = new RunJournal({
    store,
    bus: new RunEventBus(),
    outbox: new AgentOutbox({ send: () => true, isConnected: () => true }),
    now: () => 1,
  });
  const runs: ActiveRuns = new Map();
  const nodeAgents = new NodeAgents({
    store,
    logger: capturedLogger('node-agents').logger,
    journal,
    runs,
    now: () => 1,
  });
  return { store, nodeAgents, reads };
}

describe('NodeAgents: the agent that serves a node', () => {
  it('GIVEN a bound node THEN its agent row is read once however many steps are dispatched to it', () => {
    const { store, nodeAgents, reads } = setUp();
    expect(nodeAgents.agentFor(spec, 'cp1')?.id).toBe('a1');
    expect(store.bindings.bound('lab', 'cp1')).toBe('a1');
    for (let i = 0; i < 100; i++) expect(nodeAgents.agentFor(spec, 'cp1')?.id).toBe('a1');
    expect(reads.filter((id) => id === 'a1')).toHaveLength(1);
  });

  it('WHEN the agent opens a session with new facts THEN they are what agentFor returns', () => {
    const { store, nodeAgents } = setUp();
    expect(nodeAgents.agentFor(spec, 'cp1')?.facts.cpuCount).toBe(sampleFacts('cp1').cpuCount);
    store.agents.update('a1', { facts: { ...sampleFacts('cp1', '10.0.0.11/24'), cpuCount: 64 } });
    nodeAgents.connected('a1');
    expect(nodeAgents.agentFor(spec, 'cp1')?.facts.cpuCount).toBe(64);
  });

  it('WHEN the agent is revoked THEN the node has no agent', () => {
    const { store, nodeAgents } = setUp();
    expect(nodeAgents.agentFor(spec, 'cp1')?.id).toBe('a1');
    store.agents.update('a1', { revokedAt: 2, connected: false });
    nodeAgents.revoked('a1');
    expect(nodeAgents.agentFor(spec, 'cp1')).toBeUndefined();
  });
});
