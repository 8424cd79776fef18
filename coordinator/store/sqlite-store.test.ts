import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from './sqlite-store.ts';
import { notStartedStep, type RunRecord, type StepRecord } from './store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function openStore(): { store: SqliteStore; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kubeha-store-'));
  dirs.push(dir);
  const path = join(dir, 'coordinator.db');
  return { store: new SqliteStore(path), path };
}

/** A running run of cluster `c`. */
function runningRun(id: string, kind: RunRecord['kind'], createdAt: number): RunRecord {
  return { id, cluster: 'c', kind, state: 'running', createdAt, finishedAt: null, error: null };
}

function step(id: string, params: Record<string, unknown>, seq: number): StepRecord {
  return {
    runId: 'run-1',
    id,
    seq,
    kind: 'host-prep',
    node: id,
    dependsOn: [],
    timeoutSeconds: 60,
    retry: { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 },
    params,
    concurrencyGroup: null,
    bestEffort: false,
    forNode: null,
    ...notStartedStep(),
  };
}

describe('SqliteStore runs and steps', () => {
  it('GIVEN steps sharing a large parameter WHEN stored and reopened THEN each reads back whole, the value stored once', () => {
    const { store, path } = openStore();
    const nodes = Array.from({ length: 200 }, (_, i) => ({
      name: `n${i}`,
      address: `10.0.${i >> 8}.${i & 255}`,
      role: 'worker',
    }));
    store.runs.insert(runningRun('run-1', 'deploy', 1));
    store.steps.insert([step('a', { hostname: 'a', nodes }, 0), step('b', { hostname: 'b', nodes, lbPort: 0 }, 1)]);
    store.steps.update('run-1', 'a', { state: 'dispatched', attempt: 1, agentId: 'agent-x', error: null });
    store.close();

    const reopened = new SqliteStore(path);
    const [a, b] = reopened.steps.list('run-1');
    expect(a).toMatchObject({
      id: 'a',
      state: 'dispatched',
      attempt: 1,
      agentId: 'agent-x',
      params: { hostname: 'a', nodes },
    });
    expect(b?.params).toEqual({ hostname: 'b', nodes, lbPort: 0 });
    expect(reopened.steps.list('run-1', false)[0]?.params).toEqual({});
    const count = reopened.db.prepare('SELECT COUNT(*) AS n FROM param_values').get() as { n: number };
    expect(count.n).toBe(1);
    reopened.close();
  });

  it('GIVEN events WHEN read after an id THEN only later events of that run come back, in order; a deleted cluster takes its runs along', () => {
    const { store } = openStore();
    store.clusters.put({
      name: 'c',
      spec: {} as never,
      createdAt: 1,
      updatedAt: 1,
      initializedAt: null,
      appliedSpec: null,
      appliedAt: null,
    });
    store.runs.insert(runningRun('run-1', 'deploy', 1));
    store.runs.insert(runningRun('run-2', 'verify', 2));
    const base = { at: 1, stepId: null, node: null, attempt: null, state: null };
    const e1 = store.events.append({ ...base, runId: 'run-1', type: 'run', message: 'one' });
    store.events.append({ ...base, runId: 'run-2', type: 'run', message: 'other run' });
    const e3 = store.events.append({ ...base, runId: 'run-1', type: 'step', message: 'three' });
    expect(store.events.after('run-1', 0).map((e) => e.message)).toEqual(['one', 'three']);
    expect(store.events.after('run-1', e1.id).map((e) => e.id)).toEqual([e3.id]);
    store.steps.insert([step('a', { nodes: 'x'.repeat(2000) }, 0)].map((s) => ({ ...s, runId: 'run-2' })));
    expect(store.runs.unfinished().map((r) => r.id)).toEqual(['run-1', 'run-2']);
    expect(store.clusters.delete('c')).toBe(true);
    expect(store.runs.list()).toEqual([]);
    expect(store.events.after('run-1', 0)).toEqual([]);
    expect((store.db.prepare('SELECT COUNT(*) AS n FROM param_values').get() as { n: number }).n).toBe(0);
    store.close();
  });
});

describe('SqliteStore at rest', () => {
  it.each([
    ['a new file', false],
    ['a file another process left world-readable', true],
  ])(
    'GIVEN %s and a permissive umask WHEN opened and written THEN the database, its WAL and shm are 0600',
    (_l, pre) => {
      const dir = mkdtempSync(join(tmpdir(), 'kubeha-store-'));
      dirs.push(dir);
      const path = join(dir, 'coordinator.db');
      const previous = process.umask(0o022);
      try {
        if (pre) writeFileSync(path, '', { mode: 0o644 });
        const store = new SqliteStore(path);
        store.clusterValues.set('c', 'init-token', { value: 'abcdef.0123456789abcdef', secret: true, updatedAt: 1 });
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          expect(existsSync(file), file).toBe(true);
          expect((statSync(file).mode & 0o777).toString(8), file).toBe('600');
        }
        store.db.close();
      } finally {
        process.umask(previous);
      }
    },
  );
});
