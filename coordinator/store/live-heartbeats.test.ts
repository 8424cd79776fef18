import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { enrollAgentsInStore } from '../../test/support/enrolled-agents.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { AgentHealth } from './store.ts';

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const agentId = 'agent-00000000-0000-4000-8000-000000000001';
const healthy: AgentHealth = { agentOk: true, vrrpHealthy: true, vrrpReason: 'tier ok', probeAgeMs: 100 };

/** A store on disk with one connected agent, and a second connection that reads what the file holds. */
function storeWithAgent(): { store: SqliteStore; path: string; storedRow: () => Record<string, unknown> } {
  const dir = mkdtempSync(join(tmpdir(), 'kubeha-live-'));
  dirs.push(dir);
  const path = join(dir, 'coordinator.db');
  const store = new SqliteStore(path);
  stores.push(store);
  enrollAgentsInStore(store, [{ id: agentId, hostname: 'cp1' }], { connected: false });
  store.agents.update(agentId, { connected: true, lastHeartbeatAt: 1_000 });
  const storedRow = () => {
    const reader = new DatabaseSync(path, { readOnly: true });
    try {
      return reader
        .prepare('SELECT connected, last_heartbeat_at, holds_vip, health FROM agents WHERE id = ?')
        .get(agentId) as Record<string, unknown>;
    } finally {
      reader.close();
    }
  };
  return { store, path, storedRow };
}

describe('heartbeats held in memory', () => {
  it('GIVEN heartbeats that change nothing an operator sees WHEN read THEN the API sees the latest at once and the file gets it only at the flush', () => {
    const { store, storedRow } = storeWithAgent();
    store.agents.heartbeat(agentId, { at: 2_000, holdsVip: false, health: healthy });
    expect(storedRow()).toMatchObject({ last_heartbeat_at: 2_000 });

    store.agents.heartbeat(agentId, { at: 7_000, holdsVip: false, health: { ...healthy, probeAgeMs: 240 } });
    store.agents.heartbeat(agentId, { at: 12_000, holdsVip: false, health: { ...healthy, probeAgeMs: 30 } });

    expect(store.agents.get(agentId)).toMatchObject({ lastHeartbeatAt: 12_000, health: { probeAgeMs: 30 } });
    expect(store.agents.list()[0]).toMatchObject({ lastHeartbeatAt: 12_000 });
    expect(storedRow()).toMatchObject({ last_heartbeat_at: 2_000 });

    expect(store.agents.flushHeartbeats()).toBe(1);
    expect(storedRow()).toMatchObject({ last_heartbeat_at: 12_000 });
    expect(JSON.parse(String(storedRow().health))).toMatchObject({ probeAgeMs: 30 });
    expect(store.agents.flushHeartbeats()).toBe(0);
  });

  it('GIVEN a heartbeat that moves the VIP or turns the verdict WHEN recorded THEN it is written at once', () => {
    const { store, storedRow } = storeWithAgent();
    store.agents.heartbeat(agentId, { at: 2_000, holdsVip: false, health: healthy });
    store.agents.heartbeat(agentId, { at: 7_000, holdsVip: true, health: healthy });
    expect(storedRow()).toMatchObject({ last_heartbeat_at: 7_000, holds_vip: 1 });

    store.agents.heartbeat(agentId, {
      at: 12_000,
      holdsVip: true,
      health: { ...healthy, vrrpHealthy: false, vrrpReason: 'tier refused' },
    });
    expect(storedRow()).toMatchObject({ last_heartbeat_at: 12_000 });
    expect(JSON.parse(String(storedRow().health))).toMatchObject({ vrrpHealthy: false, vrrpReason: 'tier refused' });
  });

  it('GIVEN a held heartbeat WHEN the agent disconnects THEN it is written with the disconnection and no longer held', () => {
    const { store, storedRow } = storeWithAgent();
    store.agents.heartbeat(agentId, { at: 2_000, holdsVip: false, health: healthy });
    store.agents.heartbeat(agentId, { at: 7_000, holdsVip: false, health: healthy });

    store.agents.update(agentId, { connected: false });

    expect(storedRow()).toMatchObject({ connected: 0, last_heartbeat_at: 7_000 });
    expect(store.agents.flushHeartbeats()).toBe(0);
    expect(store.agents.get(agentId)).toMatchObject({ connected: false, lastHeartbeatAt: 7_000 });
  });

  it('GIVEN a held heartbeat WHEN another update of the agent comes THEN neither hides the other', () => {
    const { store } = storeWithAgent();
    store.agents.heartbeat(agentId, { at: 2_000, holdsVip: false, health: healthy });
    store.agents.heartbeat(agentId, { at: 7_000, holdsVip: false, health: healthy });

    store.agents.update(agentId, { holdsVip: true });

    expect(store.agents.get(agentId)).toMatchObject({ holdsVip: true, lastHeartbeatAt: 7_000, health: healthy });
  });

  it('GIVEN held heartbeats WHEN the store closes THEN a reopened store reads them', () => {
    const { store, path } = storeWithAgent();
    store.agents.heartbeat(agentId, { at: 2_000, holdsVip: false, health: healthy });
    store.agents.heartbeat(agentId, { at: 7_000, holdsVip: false, health: healthy });
    store.close();

    const reopened = new SqliteStore(path);
    stores.push(reopened);
    expect(reopened.agents.get(agentId)).toMatchObject({ lastHeartbeatAt: 7_000, health: healthy });
  });
});
