import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isKubehaError } from '../../common/errors.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { type SnapshotFacts, SnapshotStore } from './snapshot-store.ts';

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(): { snapshots: SnapshotStore; dataDir: string; db: SqliteStore } {
  const dataDir = mkdtempSync(join(tmpdir(), 'kubeha-snapshots-'));
  dirs.push(dataDir);
  const db = new SqliteStore(join(dataDir, 'coordinator.db'));
  stores.push(db);
  return { snapshots: new SnapshotStore(dataDir, db), dataDir, db };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function facts(bytes: Uint8Array, takenAtMs: number, over: Partial<SnapshotFacts> = {}): SnapshotFacts {
  return {
    node: 'cp1',
    takenAtMs,
    sizeBytes: bytes.length,
    sha256: sha(bytes),
    revision: 42,
    totalKeys: 7,
    hash: 12345,
    runId: 'run-1',
    ...over,
  };
}

function upload(snapshots: SnapshotStore, id: string, bytes: Uint8Array, takenAtMs: number) {
  const u = snapshots.beginUpload('prod', id);
  u.write(0, bytes.subarray(0, 3));
  u.write(3, bytes.subarray(3));
  return u.finish(facts(bytes, takenAtMs));
}

describe('SnapshotStore', () => {
  it('GIVEN chunks in order WHEN finished with the matching size and sha256 THEN the file is in place, 0600, and listed', () => {
    const { snapshots } = open();
    const bytes = Buffer.from('etcd snapshot bytes');

    const record = upload(snapshots, 's1', bytes, 1000);

    expect(record).toEqual({ id: 's1', cluster: 'prod', ...facts(bytes, 1000) });
    const path = snapshots.filePath(record);
    expect(readFileSync(path)).toEqual(bytes);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(snapshots.directory, 'prod')).mode & 0o777).toBe(0o700);
    expect(existsSync(`${path}.part`)).toBe(false);
    expect(snapshots.list('prod')).toEqual([record]);
    expect(snapshots.get('prod', 's1')).toEqual(record);
    expect(snapshots.list('other')).toEqual([]);
  });

  it('GIVEN bytes that do not hash to the announced sha256 WHEN finished THEN it is refused, nothing kept or listed', () => {
    const { snapshots } = open();
    const u = snapshots.beginUpload('prod', 's1');
    u.write(0, Buffer.from('corrupted'));

    let error: unknown;
    try {
      u.finish(facts(Buffer.from('original!'), 1));
    } catch (e) {
      error = e;
    }

    expect(isKubehaError(error)).toBe(true);
    expect(String((error as Error).message)).toContain('sha256');
    expect(readdirSync(join(snapshots.directory, 'prod'))).toEqual([]);
    expect(snapshots.list('prod')).toEqual([]);
  });

  it('GIVEN a chunk at the wrong offset WHEN written THEN the upload fails and its partial file is gone', () => {
    const { snapshots } = open();
    const u = snapshots.beginUpload('prod', 's1');
    u.write(0, Buffer.from('abc'));

    expect(() => u.write(10, Buffer.from('def'))).toThrow(/offset 10, expected 3/);
    expect(readdirSync(join(snapshots.directory, 'prod'))).toEqual([]);
    expect(snapshots.upload('prod', 's1')).toBeUndefined();
  });

  it('GIVEN four snapshots WHEN pruned to 2 THEN the two newest remain, the others lose file and record', () => {
    const { snapshots } = open();
    const records = [1, 2, 3, 4].map((i) => upload(snapshots, `s${i}`, Buffer.from(`snapshot ${i}`), i * 1000));

    const pruned = snapshots.prune('prod', 2);

    expect(pruned.map((r) => r.id)).toEqual(['s2', 's1']);
    expect(snapshots.list('prod').map((r) => r.id)).toEqual(['s4', 's3']);
    expect(existsSync(snapshots.filePath(records[0]!))).toBe(false);
    expect(existsSync(snapshots.filePath(records[3]!))).toBe(true);
    expect(snapshots.prune('prod', 2)).toEqual([]);
  });

  it('GIVEN a partial file left by a stopped coordinator WHEN reopened THEN removeStaleUploads removes it', () => {
    const { snapshots, dataDir, db } = open();
    snapshots.beginUpload('prod', 's1').write(0, Buffer.from('half'));
    const reopened = new SnapshotStore(dataDir, db);

    expect(reopened.removeStaleUploads()).toBe(1);
    expect(readdirSync(join(reopened.directory, 'prod'))).toEqual([]);
  });

  it('GIVEN an id or cluster that could leave the directory WHEN used THEN it is refused naming the field', () => {
    const { snapshots } = open();
    expect(() => snapshots.beginUpload('prod', '../x')).toThrow(/^id: /);
    expect(() => snapshots.beginUpload('../prod', 's1')).toThrow(/^cluster: /);
  });

  it('GIVEN a recorded snapshot WHEN the same id is uploaded again THEN it is refused and the first one kept', () => {
    const { snapshots } = open();
    const bytes = Buffer.from('first');
    const record = upload(snapshots, 's1', bytes, 1);

    expect(() => snapshots.beginUpload('prod', 's1')).toThrow(/already has/);
    expect(readFileSync(snapshots.filePath(record))).toEqual(bytes);
  });

  it('GIVEN the store reopened WHEN listed THEN the records survive (they live in SQLite)', () => {
    const { snapshots, dataDir } = open();
    const record = upload(snapshots, 's1', Buffer.from('x'.repeat(10)), 5);
    const db2 = new SqliteStore(join(dataDir, 'coordinator.db'));
    stores.push(db2);
    expect(new SnapshotStore(dataDir, db2).list('prod')).toEqual([record]);
  });
});
