import type { DatabaseSync } from 'node:sqlite';
import { ErrorCode, KubehaError } from '../../common/errors.ts';

/** One step of the schema, from version - 1 to version. Never edit a released one: add the next. */
export interface Migration {
  version: number;
  what: string;
  /** SQL, or code when the change depends on what the database holds. */
  sql: string | ((db: DatabaseSync) => void);
}

/**
 * The schema of the releases before the store had a version. Its IF NOT EXISTS lets it adopt their databases as
 * they are; the migrations after it change what exists (ALTER TABLE ... ADD COLUMN, new tables) without it.
 */
const firstSchema = `
CREATE TABLE IF NOT EXISTS bootstrap_tokens (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  usage_limit INTEGER NOT NULL,
  used_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS agents (
  id TEXT PRIMARY KEY,
  hostname TEXT NOT NULL,
  agent_version TEXT NOT NULL,
  facts TEXT NOT NULL,
  certificate_serial TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL,
  enrolled_with_token_id TEXT NOT NULL,
  revoked_at INTEGER,
  connected INTEGER NOT NULL DEFAULT 0,
  last_heartbeat_at INTEGER,
  holds_vip INTEGER NOT NULL DEFAULT 0,
  health TEXT
);
CREATE TABLE IF NOT EXISTS clusters (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  initialized_at INTEGER
);
CREATE TABLE IF NOT EXISTS cluster_values (
  cluster TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  secret INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (cluster, name)
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  cluster TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER,
  error TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_cluster ON runs (cluster, created_at);
CREATE TABLE IF NOT EXISTS steps (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  node TEXT NOT NULL,
  depends_on TEXT NOT NULL,
  timeout_seconds INTEGER NOT NULL,
  retry TEXT NOT NULL,
  concurrency_group TEXT,
  best_effort INTEGER NOT NULL,
  for_node TEXT,
  state TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  agent_id TEXT,
  dispatched_at INTEGER,
  started_at INTEGER,
  finished_at INTEGER,
  deadline_at INTEGER,
  next_attempt_at INTEGER,
  disconnected_at INTEGER,
  error TEXT,
  changed INTEGER NOT NULL,
  outputs TEXT NOT NULL,
  PRIMARY KEY (run_id, id)
);
-- Apart from the step's state: a row is rewritten whole on update, and parameters can be large (every node's address).
CREATE TABLE IF NOT EXISTS step_params (
  run_id TEXT NOT NULL,
  id TEXT NOT NULL,
  params TEXT NOT NULL,
  PRIMARY KEY (run_id, id),
  FOREIGN KEY (run_id, id) REFERENCES steps (run_id, id) ON DELETE CASCADE
);
-- Large parameter values, once per run: every host-prep step of a 1,000-node cluster carries the same node list.
CREATE TABLE IF NOT EXISTS param_values (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  hash TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (run_id, hash)
);
CREATE TABLE IF NOT EXISTS run_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  step_id TEXT,
  node TEXT,
  attempt INTEGER,
  state TEXT,
  message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_events_by_run ON run_events (run_id, id);
`;

/** Every schema change, in order. To change the schema, append one with the next version. */
export const migrations: readonly Migration[] = [
  { version: 1, what: 'agents, tokens, clusters and their values, runs, steps and events', sql: firstSchema },
  {
    version: 2,
    what: "each cluster's last successfully applied spec",
    // Development builds just before versioning added these columns unversioned: add only what is missing.
    sql: (db) => addMissingColumns(db, 'clusters', { applied_spec: 'TEXT', applied_at: 'INTEGER' }),
  },
  {
    version: 3,
    what: 'which agent may serve (approvals, token scopes) and serves (bindings) which node',
    sql: `
CREATE TABLE IF NOT EXISTS token_scopes (
  token_id TEXT PRIMARY KEY,
  node TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS node_approvals (
  agent_id TEXT NOT NULL,
  node TEXT NOT NULL,
  approved_at INTEGER NOT NULL,
  PRIMARY KEY (agent_id, node)
);
CREATE TABLE IF NOT EXISTS node_bindings (
  cluster TEXT NOT NULL,
  node TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  bound_at INTEGER NOT NULL,
  PRIMARY KEY (cluster, node)
);
CREATE INDEX IF NOT EXISTS node_bindings_by_agent ON node_bindings (agent_id);
`,
  },
  {
    version: 4,
    what: "agents' certificate renewal: the serial issued but not yet used, and the current certificate's expiry",
    sql: (db) =>
      addMissingColumns(db, 'agents', { pending_certificate_serial: 'TEXT', certificate_not_after: 'INTEGER' }),
  },
  {
    version: 5,
    what: "every failed attempt's error, kept after a later attempt succeeds",
    sql: `
CREATE TABLE IF NOT EXISTS step_attempt_errors (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  step_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  finished_at INTEGER,
  next_attempt_at INTEGER,
  error TEXT NOT NULL,
  PRIMARY KEY (run_id, step_id, attempt)
);
`,
  },
  {
    version: 6,
    what: 'etcd snapshots kept by the coordinator: where each came from and what etcdutl said of it',
    sql: `
CREATE TABLE IF NOT EXISTS etcd_snapshots (
  cluster TEXT NOT NULL,
  id TEXT NOT NULL,
  node TEXT NOT NULL,
  taken_at_ms INTEGER NOT NULL,
  size_bytes INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  revision INTEGER NOT NULL,
  total_keys INTEGER NOT NULL,
  hash INTEGER NOT NULL,
  run_id TEXT,
  PRIMARY KEY (cluster, id)
);
CREATE INDEX IF NOT EXISTS etcd_snapshots_by_time ON etcd_snapshots (cluster, taken_at_ms);
`,
  },
  {
    version: 7,
    what: "the agents approved for a node, found by the node's name",
    sql: `
CREATE INDEX IF NOT EXISTS node_approvals_by_node ON node_approvals (node, approved_at);
`,
  },
];

function addMissingColumns(db: DatabaseSync, table: string, columns: Record<string, string>): void {
  const present = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
  for (const [name, type] of Object.entries(columns)) {
    if (!present.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
  }
}

export function schemaVersion(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
}

/**
 * Brings the database up to the last migration, each one in its own transaction together with its version number,
 * so that a failed migration leaves the database at the version before it. A database newer than this program is
 * refused: its rows may mean what this program does not know.
 */
export function migrate(db: DatabaseSync, list: readonly Migration[] = migrations): { from: number; to: number } {
  list.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} is numbered ${m.version}`);
  });
  const from = schemaVersion(db);
  const latest = list.length;
  if (from > latest) {
    throw new KubehaError(
      ErrorCode.storeVersion,
      `the database is at schema version ${from}, newer than this coordinator's ${latest}: run a coordinator at least as new as the one that last wrote it`,
    );
  }
  for (const m of list.slice(from)) {
    db.exec('BEGIN IMMEDIATE');
    try {
      if (typeof m.sql === 'string') db.exec(m.sql);
      else m.sql(db);
      db.exec(`PRAGMA user_version = ${m.version}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw new KubehaError(
        ErrorCode.storeVersion,
        `the database could not be upgraded to schema version ${m.version} (${m.what}): ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return { from, to: Math.max(from, latest) };
}
