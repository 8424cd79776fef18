import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';
import { ErrorCode, KubehaError } from '../../common/errors.ts';

export const databaseFile = 'coordinator.db';
/** The database and SQLite's companions: never copied as plain files (the backup API copies the database). */
const databaseFiles = new Set([databaseFile, `${databaseFile}-wal`, `${databaseFile}-shm`, `${databaseFile}-journal`]);
/** The identity files next to the database are small (certificates, keys, the admin token). */
const maxFileBytes = 1024 * 1024;

/**
 * Writes a consistent copy of a (possibly running) coordinator's data directory to `to`, mode 0600: the database
 * through SQLite's online backup (pages copied while the coordinator keeps writing, restarted on each write so the
 * copy is one point in time), and the identity files beside it (the CA and its key, the gateway certificate, the
 * admin token) in a table of that copy. One file, because it holds everything a new admin host needs.
 */
export async function backupCoordinator(dataDir: string, to: string): Promise<{ bytes: number; files: string[] }> {
  const source = join(dataDir, databaseFile);
  if (!existsSync(source)) {
    throw new KubehaError(
      ErrorCode.notFound,
      `${source} does not exist: is ${dataDir} the coordinator's data directory?`,
    );
  }
  if (existsSync(to)) throw new KubehaError(ErrorCode.conflict, `${to} exists; choose a new file for the backup`);
  mkdirSync(dirname(to), { recursive: true });
  const partial = `${to}.partial`;
  rmSync(partial, { force: true });
  // The copy holds every secret: private from its first byte.
  writeFileSync(partial, '', { mode: 0o600 });
  const db = new DatabaseSync(source);
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    await backup(db, partial);
  } finally {
    db.close();
  }
  const files: string[] = [];
  const copy = new DatabaseSync(partial);
  try {
    copy.exec('CREATE TABLE coordinator_files (name TEXT PRIMARY KEY, mode INTEGER NOT NULL, content BLOB NOT NULL)');
    const insert = copy.prepare('INSERT INTO coordinator_files (name, mode, content) VALUES (?, ?, ?)');
    for (const name of readdirSync(dataDir).sort()) {
      if (databaseFiles.has(name) || name.endsWith('.tmp')) continue;
      const path = join(dataDir, name);
      const stat = statSync(path);
      if (!stat.isFile() || stat.size > maxFileBytes) continue;
      insert.run(name, stat.mode & 0o777, readFileSync(path));
      files.push(name);
    }
  } finally {
    copy.close();
  }
  chmodSync(partial, 0o600);
  renameSync(partial, to);
  return { bytes: statSync(to).size, files };
}

/**
 * Makes `dataDir` the coordinator's data directory from a backup. Refuses when the directory already has a
 * database (a live coordinator's, or one that a restore would silently replace): move it away first.
 */
export function restoreCoordinator(from: string, dataDir: string): { files: string[] } {
  if (!existsSync(from)) throw new KubehaError(ErrorCode.notFound, `${from} does not exist`);
  const present = [...databaseFiles].filter((f) => existsSync(join(dataDir, f)));
  if (present.length > 0) {
    throw new KubehaError(
      ErrorCode.conflict,
      `${dataDir} already has a database (${present.join(', ')}); restore only into an empty data directory (stop that coordinator and move the directory away first)`,
    );
  }
  const check = new DatabaseSync(from, { readOnly: true });
  let rows: { name: string; mode: number; content: Uint8Array }[];
  try {
    const integrity = check.prepare('PRAGMA integrity_check').get() as { integrity_check: string } | undefined;
    if (integrity?.integrity_check !== 'ok') {
      throw new KubehaError(ErrorCode.badRequest, `${from} is damaged: ${integrity?.integrity_check ?? 'no answer'}`);
    }
    const hasFiles = check
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'coordinator_files'")
      .get();
    if (!hasFiles) {
      throw new KubehaError(ErrorCode.badRequest, `${from} is not a kubeha-coordinator backup (no coordinator_files)`);
    }
    rows = check.prepare('SELECT name, mode, content FROM coordinator_files ORDER BY name').all() as typeof rows;
  } finally {
    check.close();
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  for (const row of rows) {
    if (row.name.includes('/') || row.name.startsWith('.')) continue;
    writeFileSync(join(dataDir, row.name), row.content, { mode: row.mode & 0o700 });
    chmodSync(join(dataDir, row.name), row.mode & 0o700);
  }
  const partial = join(dataDir, `${databaseFile}.restore.tmp`);
  writeFileSync(partial, readFileSync(from), { mode: 0o600 });
  const db = new DatabaseSync(partial);
  try {
    db.exec('DROP TABLE coordinator_files; VACUUM');
  } finally {
    db.close();
  }
  renameSync(partial, join(dataDir, databaseFile));
  return { files: rows.map((r) => r.name) };
}
