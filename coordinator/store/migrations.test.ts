import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { type Migration, migrate, migrations, schemaVersion } from './migrations.ts';
import { SqliteStore } from './sqlite-store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeha-migrations-'));
  dirs.push(dir);
  return join(dir, 'coordinator.db');
}

type Row = Record<string, unknown>;

/** Every row of every table, by table, in rowid order (what "nothing lost" is checked against). */
function allRows(path: string): Map<string, Row[]> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as { name: string }[];
    return new Map(tables.map(({ name }) => [name, db.prepare(`SELECT * FROM ${name} ORDER BY rowid`).all() as Row[]]));
  } finally {
    db.close();
  }
}

describe('store schema versions', () => {
  it('GIVEN a database written before the store had a version WHEN a coordinator opens it THEN it is at the latest version with every row and column kept, and reads back through the store', () => {
    const path = tempPath();
    copyFileSync(new URL('../../test/fixtures/store/v1.db', import.meta.url), path);
    const before = allRows(path);
    expect(before.get('steps')?.length).toBe(5);

    const store = new SqliteStore(path);
    expect(schemaVersion(store.db)).toBe(migrations.length);
    store.close();

    const after = allRows(path);
    for (const [table, rows] of before) {
      const upgraded = after.get(table);
      expect(upgraded?.length, table).toBe(rows.length);
      for (const [i, row] of rows.entries()) expect(upgraded?.[i], `${table} row ${i}`).toMatchObject(row);
    }

    const reopened = new SqliteStore(path);
    try {
      expect(reopened.agents.list().map((a) => a.hostname)).toEqual([
        'k8s-master1',
        'k8s-master2',
        'k8s-master3',
        'k8s-worker1',
        'k8s-worker2',
      ]);
      expect(reopened.agents.list()[0]).toMatchObject({
        connected: true,
        holdsVip: true,
        health: { vrrpReason: 'tier ok' },
      });
      expect(reopened.tokens.get('abcdef')?.usedCount).toBe(5);
      expect(reopened.clusters.get('prod-a')?.spec.spec.nodes).toHaveLength(5);
      expect(reopened.clusterValues.get('prod-a', 'init-token')).toMatchObject({ secret: true });
      const [finished, running] = reopened.runs.list('prod-a');
      expect(finished).toMatchObject({ kind: 'deploy', state: 'failed', error: 'host-prep/k8s-worker1: dnf failed' });
      expect(reopened.runs.unfinished().map((r) => r.id)).toEqual([running?.id]);
      const steps = reopened.steps.list(finished?.id ?? '');
      expect(steps.map((s) => [s.id, s.state])).toEqual([
        ['host-prep/k8s-master1', 'succeeded'],
        ['host-prep/k8s-worker1', 'failed'],
        ['cross-node-checks', 'skipped'],
      ]);
      // The node list was stored once for the run and is put back into each step's parameters.
      expect(steps[0]?.params['nodes']).toHaveLength(5);
      expect(steps[1]?.params['nodes']).toEqual(steps[0]?.params['nodes']);
      expect(steps[1]?.error).toMatchObject({ code: 'KUBEHA_COMMAND_FAILED', exitCode: 1 });
      expect(reopened.steps.list(running?.id ?? '')[0]).toMatchObject({
        state: 'dispatched',
        disconnectedAt: expect.any(Number),
      });
      expect(reopened.events.after(finished?.id ?? '', 0).map((e) => e.message)).toEqual([
        'deploy run of prod-a started',
        'setenforce 0',
        'deploy run failed',
      ]);
    } finally {
      reopened.close();
    }
  });

  it('GIVEN a database whose clusters already have the applied-spec columns, added before versioning, WHEN upgraded THEN it reaches the latest version with them', () => {
    const path = tempPath();
    copyFileSync(new URL('../../test/fixtures/store/v1.db', import.meta.url), path);
    const db = new DatabaseSync(path);
    db.exec('ALTER TABLE clusters ADD COLUMN applied_spec TEXT; ALTER TABLE clusters ADD COLUMN applied_at INTEGER');
    db.close();
    const store = new SqliteStore(path);
    expect(schemaVersion(store.db)).toBe(migrations.length);
    expect(store.clusters.get('prod-a')).toMatchObject({ appliedSpec: null, appliedAt: null });
    store.close();
  });

  it('GIVEN a new database WHEN opened twice THEN it is at the latest version and the second open keeps what the first wrote', () => {
    const path = tempPath();
    const first = new SqliteStore(path);
    expect(schemaVersion(first.db)).toBe(migrations.length);
    first.clusterValues.set('c', 'ca-cert-hash', { value: 'sha256:x', secret: false, updatedAt: 1 });
    first.close();
    const second = new SqliteStore(path);
    expect(second.clusterValues.get('c', 'ca-cert-hash')?.value).toBe('sha256:x');
    second.close();
  });

  it('GIVEN the latest schema WHEN the agents approved for a node are read THEN the lookup is by index, not a scan of every approval (a first deploy of a thousand nodes reads it once per node)', () => {
    const store = new SqliteStore(tempPath());
    try {
      store.bindings.approve('agent-b', 'w1', 2);
      store.bindings.approve('agent-a', 'w1', 1);
      store.bindings.approve('agent-c', 'w2', 3);
      expect(store.bindings.approvedFor('w1')).toEqual(['agent-a', 'agent-b']);
      const plan = store.db
        .prepare('EXPLAIN QUERY PLAN SELECT agent_id FROM node_approvals WHERE node = ? ORDER BY approved_at')
        .all('w1') as { detail: string }[];
      expect(plan.map((p) => p.detail).join('; ')).toMatch(/USING (COVERING )?INDEX node_approvals_by_node/);
    } finally {
      store.close();
    }
  });

  it('GIVEN migrations after the current version WHEN one fails THEN the ones before it stay applied and the failed one leaves nothing behind', () => {
    const db = new DatabaseSync(':memory:');
    const list: Migration[] = [
      { version: 1, what: 'a', sql: 'CREATE TABLE a (x INTEGER)' },
      { version: 2, what: 'b', sql: 'CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1)' },
      { version: 3, what: 'broken', sql: 'CREATE TABLE c (x INTEGER); INSERT INTO nowhere VALUES (1)' },
    ];
    expect(migrate(db, list.slice(0, 1))).toEqual({ from: 0, to: 1 });
    expect(() => migrate(db, list)).toThrow(/schema version 3 \(broken\): no such table: nowhere/);
    expect(schemaVersion(db)).toBe(2);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
      (t) => t.name,
    );
    expect(tables.sort()).toEqual(['a', 'b']);
    expect(migrate(db, list.slice(0, 2))).toEqual({ from: 2, to: 2 });
    db.close();
  });

  it('GIVEN a database of a newer coordinator WHEN opened THEN it is refused with both versions named and no table made', () => {
    const path = tempPath();
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${migrations.length + 1}`);
    db.close();
    expect(() => new SqliteStore(path)).toThrow(
      expect.objectContaining({
        code: ErrorCode.storeVersion,
        message: expect.stringContaining(
          `schema version ${migrations.length + 1}, newer than this coordinator's ${migrations.length}`,
        ),
      }),
    );
    expect(allRows(path).size).toBe(0);
  });

  it('GIVEN migrations numbered out of order THEN none runs', () => {
    const db = new DatabaseSync(':memory:');
    expect(() => migrate(db, [{ version: 2, what: 'x', sql: 'CREATE TABLE x (y INTEGER)' }])).toThrow(/numbered 2/);
    expect(schemaVersion(db)).toBe(0);
    db.close();
  });
});
