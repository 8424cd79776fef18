import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { bootstrapTokenProblem, type StoredBootstrapToken } from '../pki/bootstrap-tokens.ts';
import type {
  AgentRecord,
  AgentStore,
  AgentUpdate,
  ClusterRecord,
  ClusterStore,
  ClusterValueStore,
  EnrollmentRecord,
  NodeBindingStore,
  RunEvent,
  RunEventStore,
  RunRecord,
  RunStore,
  StepRecord,
  StepStore,
  StepUpdate,
  Store,
  TokenStore,
} from './store.ts';

const schema = `
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
  initialized_at INTEGER,
  applied_spec TEXT,
  applied_at INTEGER
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
`;

interface StepRow {
  run_id: string;
  id: string;
  seq: number;
  kind: string;
  node: string;
  depends_on: string;
  timeout_seconds: number;
  retry: string;
  params: string;
  concurrency_group: string | null;
  best_effort: number;
  for_node: string | null;
  state: string;
  attempt: number;
  agent_id: string | null;
  dispatched_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  deadline_at: number | null;
  next_attempt_at: number | null;
  disconnected_at: number | null;
  error: string | null;
  changed: number;
  outputs: string;
}

function stepFromRow(row: StepRow): StepRecord {
  return {
    runId: row.run_id,
    id: row.id,
    seq: row.seq,
    kind: row.kind,
    node: row.node,
    dependsOn: JSON.parse(row.depends_on),
    timeoutSeconds: row.timeout_seconds,
    retry: JSON.parse(row.retry),
    params: JSON.parse(row.params),
    concurrencyGroup: row.concurrency_group === null ? null : JSON.parse(row.concurrency_group),
    bestEffort: row.best_effort === 1,
    forNode: row.for_node,
    state: row.state as StepRecord['state'],
    attempt: row.attempt,
    agentId: row.agent_id,
    dispatchedAt: row.dispatched_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    deadlineAt: row.deadline_at,
    nextAttemptAt: row.next_attempt_at,
    disconnectedAt: row.disconnected_at,
    error: row.error === null ? null : JSON.parse(row.error),
    changed: row.changed === 1,
    outputs: JSON.parse(row.outputs),
  };
}

interface RunRow {
  id: string;
  cluster: string;
  kind: string;
  state: string;
  created_at: number;
  finished_at: number | null;
  error: string | null;
}

function runFromRow(row: RunRow): RunRecord {
  return {
    id: row.id,
    cluster: row.cluster,
    kind: row.kind as RunRecord['kind'],
    state: row.state as RunRecord['state'],
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    error: row.error,
  };
}

interface EventRow {
  id: number;
  run_id: string;
  at: number;
  type: string;
  step_id: string | null;
  node: string | null;
  attempt: number | null;
  state: string | null;
  message: string;
}

function eventFromRow(row: EventRow): RunEvent {
  return {
    id: row.id,
    runId: row.run_id,
    at: row.at,
    type: row.type as RunEvent['type'],
    stepId: row.step_id,
    node: row.node,
    attempt: row.attempt,
    state: row.state,
    message: row.message,
  };
}

const json = (v: unknown) => JSON.stringify(v);

/** A parameter value at least this long (as JSON) is stored once per run and referenced by its hash. */
const sharedValueMinLength = 1024;
const sharedValueKey = '$kubehaValue';

/** The step's parameters as stored: large top-level values replaced by references to param_values. */
function encodeParams(params: Record<string, unknown>, share: (text: string) => string): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const text = json(value);
    parts.push(`${json(key)}:${text.length >= sharedValueMinLength ? json({ [sharedValueKey]: share(text) }) : text}`);
  }
  return `{${parts.join(',')}}`;
}

function decodeParams(text: string, shared: (hash: string) => unknown): Record<string, unknown> {
  const params = JSON.parse(text) as Record<string, unknown>;
  for (const [key, value] of Object.entries(params)) {
    const hash = (value as Record<string, unknown> | null)?.[sharedValueKey];
    if (typeof hash === 'string') params[key] = shared(hash);
  }
  return params;
}
const stepColumns: Record<keyof StepUpdate, [string, (value: never) => unknown]> = {
  dependsOn: ['depends_on', (v: string[]) => json(v)],
  state: ['state', (v: string) => v],
  attempt: ['attempt', (v: number) => v],
  agentId: ['agent_id', (v: string | null) => v],
  dispatchedAt: ['dispatched_at', (v: number | null) => v],
  startedAt: ['started_at', (v: number | null) => v],
  finishedAt: ['finished_at', (v: number | null) => v],
  deadlineAt: ['deadline_at', (v: number | null) => v],
  nextAttemptAt: ['next_attempt_at', (v: number | null) => v],
  disconnectedAt: ['disconnected_at', (v: number | null) => v],
  error: ['error', (v: object | null) => (v === null ? null : json(v))],
  changed: ['changed', (v: boolean) => (v ? 1 : 0)],
  outputs: ['outputs', (v: object) => json(v)],
};

interface AgentRow {
  id: string;
  hostname: string;
  agent_version: string;
  facts: string;
  certificate_serial: string;
  enrolled_at: number;
  enrolled_with_token_id: string;
  revoked_at: number | null;
  connected: number;
  last_heartbeat_at: number | null;
  holds_vip: number;
  health: string | null;
}

interface TokenRow {
  id: string;
  secret_hash: string;
  description: string;
  created_at: number;
  expires_at: number;
  usage_limit: number;
  used_count: number;
}

function agentFromRow(row: AgentRow): AgentRecord {
  return {
    id: row.id,
    hostname: row.hostname,
    agentVersion: row.agent_version,
    facts: JSON.parse(row.facts),
    certificateSerial: row.certificate_serial,
    enrolledAt: row.enrolled_at,
    enrolledWithTokenId: row.enrolled_with_token_id,
    revokedAt: row.revoked_at,
    connected: row.connected === 1,
    lastHeartbeatAt: row.last_heartbeat_at,
    holdsVip: row.holds_vip === 1,
    health: row.health === null ? null : JSON.parse(row.health),
  };
}

function tokenFromRow(row: TokenRow): StoredBootstrapToken {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    description: row.description,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usageLimit: row.usage_limit,
    usedCount: row.used_count,
  };
}

/** The embedded store: one SQLite file in WAL mode through node:sqlite. */
export class SqliteStore implements Store {
  readonly db: DatabaseSync;
  readonly agents: AgentStore;
  readonly tokens: TokenStore;
  readonly clusters: ClusterStore;
  readonly clusterValues: ClusterValueStore;
  readonly bindings: NodeBindingStore;
  readonly runs: RunStore;
  readonly steps: StepStore;
  readonly events: RunEventStore;
  private transactionDepth = 0;
  private readonly statements = new Map<string, StatementSync>();

  constructor(path: string) {
    const onDisk = path !== ':memory:' && path !== '' && !path.startsWith('file:');
    // SQLite creates the WAL and shared-memory files with the database file's mode, so 0600 here covers them too.
    if (onDisk) closeSync(openSync(path, 'a', 0o600));
    if (onDisk) chmodSync(path, 0o600);
    this.db = new DatabaseSync(path);
    this.db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
    );
    if (onDisk) {
      for (const companion of [`${path}-wal`, `${path}-shm`]) if (existsSync(companion)) chmodSync(companion, 0o600);
    }
    this.db.exec(schema);
    this.addMissingColumns();
    this.agents = this.createAgentStore();
    this.tokens = this.createTokenStore();
    this.clusters = this.createClusterStore();
    this.clusterValues = this.createClusterValueStore();
    this.bindings = this.createBindingStore();
    this.runs = this.createRunStore();
    this.steps = this.createStepStore();
    this.events = this.createEventStore();
  }

  /** Databases made before a column existed get it, empty. */
  private addMissingColumns(): void {
    const columns = new Set(
      (this.db.prepare('PRAGMA table_info(clusters)').all() as { name: string }[]).map((c) => c.name),
    );
    if (!columns.has('applied_spec')) this.db.exec('ALTER TABLE clusters ADD COLUMN applied_spec TEXT');
    if (!columns.has('applied_at')) this.db.exec('ALTER TABLE clusters ADD COLUMN applied_at INTEGER');
  }

  transaction<T>(fn: () => T): T {
    if (this.transactionDepth > 0) return fn();
    this.db.exec('BEGIN IMMEDIATE');
    this.transactionDepth++;
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    } finally {
      this.transactionDepth--;
    }
  }

  enrollAgent(record: EnrollmentRecord): AgentRecord {
    return this.transaction(() => {
      const token = this.tokens.get(record.tokenId);
      const problem = bootstrapTokenProblem(token, record.tokenSecret, record.now);
      if (problem) throw problem;
      this.db.prepare('UPDATE bootstrap_tokens SET used_count = used_count + 1 WHERE id = ?').run(record.tokenId);
      const agent: AgentRecord = { ...record.agent, enrolledWithTokenId: record.tokenId };
      const scope = this.bindings.tokenScope(record.tokenId);
      if (scope !== undefined) this.bindings.approve(agent.id, scope, record.now);
      this.db
        .prepare(
          `INSERT INTO agents (id, hostname, agent_version, facts, certificate_serial, enrolled_at, enrolled_with_token_id,
             revoked_at, connected, last_heartbeat_at, holds_vip, health)
           VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL, 0, NULL)`,
        )
        .run(
          agent.id,
          agent.hostname,
          agent.agentVersion,
          JSON.stringify(agent.facts),
          agent.certificateSerial,
          agent.enrolledAt,
          agent.enrolledWithTokenId,
        );
      return agent;
    });
  }

  /** Prepared once, reused: the scheduler's hot paths run the same few statements thousands of times. */
  private statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private createAgentStore(): AgentStore {
    const db = this.db;
    const columns: Record<keyof AgentUpdate, [string, (value: never) => unknown]> = {
      hostname: ['hostname', (v: string) => v],
      agentVersion: ['agent_version', (v: string) => v],
      facts: ['facts', (v: object) => JSON.stringify(v)],
      connected: ['connected', (v: boolean) => (v ? 1 : 0)],
      lastHeartbeatAt: ['last_heartbeat_at', (v: number | null) => v],
      holdsVip: ['holds_vip', (v: boolean) => (v ? 1 : 0)],
      health: ['health', (v: object | null) => (v === null ? null : JSON.stringify(v))],
      revokedAt: ['revoked_at', (v: number | null) => v],
    };
    return {
      get: (id) => {
        const row = db.prepare('SELECT * FROM agents WHERE id = ?').get(id) as AgentRow | undefined;
        return row ? agentFromRow(row) : undefined;
      },
      list: () =>
        (db.prepare('SELECT * FROM agents ORDER BY hostname, id').all() as unknown as AgentRow[]).map(agentFromRow),
      update: (id, update) => {
        const sets: string[] = [];
        const values: unknown[] = [];
        for (const [key, value] of Object.entries(update) as [keyof AgentUpdate, never][]) {
          const [column, encode] = columns[key];
          sets.push(`${column} = ?`);
          values.push(encode(value));
        }
        if (sets.length === 0) return;
        db.prepare(`UPDATE agents SET ${sets.join(', ')} WHERE id = ?`).run(...(values as never[]), id);
      },
      markAllDisconnected: () => {
        db.exec('UPDATE agents SET connected = 0');
      },
    };
  }

  private createTokenStore(): TokenStore {
    const db = this.db;
    return {
      insert: (token) => {
        db.prepare(
          `INSERT INTO bootstrap_tokens (id, secret_hash, description, created_at, expires_at, usage_limit, used_count)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          token.id,
          token.secretHash,
          token.description,
          token.createdAt,
          token.expiresAt,
          token.usageLimit,
          token.usedCount,
        );
      },
      get: (id) => {
        const row = db.prepare('SELECT * FROM bootstrap_tokens WHERE id = ?').get(id) as TokenRow | undefined;
        return row ? tokenFromRow(row) : undefined;
      },
      list: () =>
        (db.prepare('SELECT * FROM bootstrap_tokens ORDER BY created_at').all() as unknown as TokenRow[]).map(
          tokenFromRow,
        ),
      delete: (id) => Number(db.prepare('DELETE FROM bootstrap_tokens WHERE id = ?').run(id).changes) > 0,
    };
  }

  private createClusterStore(): ClusterStore {
    type Row = {
      name: string;
      spec: string;
      created_at: number;
      updated_at: number;
      initialized_at: number | null;
      applied_spec: string | null;
      applied_at: number | null;
    };
    const fromRow = (row: Row): ClusterRecord => ({
      name: row.name,
      spec: JSON.parse(row.spec),
      appliedSpec: row.applied_spec === null ? null : JSON.parse(row.applied_spec),
      appliedAt: row.applied_at,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      initializedAt: row.initialized_at,
    });
    return {
      get: (name) => {
        const row = this.statement('SELECT * FROM clusters WHERE name = ?').get(name) as Row | undefined;
        return row ? fromRow(row) : undefined;
      },
      list: () => (this.statement('SELECT * FROM clusters ORDER BY name').all() as unknown as Row[]).map(fromRow),
      put: (record) => {
        this.statement(
          `INSERT INTO clusters (name, spec, created_at, updated_at, initialized_at, applied_spec, applied_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at,
             initialized_at = excluded.initialized_at, applied_spec = excluded.applied_spec,
             applied_at = excluded.applied_at`,
        ).run(
          record.name,
          json(record.spec),
          record.createdAt,
          record.updatedAt,
          record.initializedAt,
          record.appliedSpec === null ? null : json(record.appliedSpec),
          record.appliedAt,
        );
      },
      delete: (name) =>
        this.transaction(() => {
          this.statement('DELETE FROM runs WHERE cluster = ?').run(name);
          this.statement('DELETE FROM cluster_values WHERE cluster = ?').run(name);
          return Number(this.statement('DELETE FROM clusters WHERE name = ?').run(name).changes) > 0;
        }),
    };
  }

  private createBindingStore(): NodeBindingStore {
    return {
      setTokenScope: (tokenId, node) => {
        this.statement('INSERT OR REPLACE INTO token_scopes (token_id, node) VALUES (?, ?)').run(tokenId, node);
      },
      tokenScope: (tokenId) =>
        (
          this.statement('SELECT node FROM token_scopes WHERE token_id = ?').get(tokenId) as
            | { node: string }
            | undefined
        )?.node,
      approve: (agentId, node, now) => {
        this.statement('INSERT OR IGNORE INTO node_approvals (agent_id, node, approved_at) VALUES (?, ?, ?)').run(
          agentId,
          node,
          now,
        );
      },
      approvedFor: (node) =>
        (
          this.statement('SELECT agent_id FROM node_approvals WHERE node = ? ORDER BY approved_at').all(node) as {
            agent_id: string;
          }[]
        ).map((r) => r.agent_id),
      bound: (cluster, node) =>
        (
          this.statement('SELECT agent_id FROM node_bindings WHERE cluster = ? AND node = ?').get(cluster, node) as
            | { agent_id: string }
            | undefined
        )?.agent_id,
      bind: (cluster, node, agentId, now) => {
        this.statement('INSERT INTO node_bindings (cluster, node, agent_id, bound_at) VALUES (?, ?, ?, ?)').run(
          cluster,
          node,
          agentId,
          now,
        );
      },
      list: (cluster) =>
        (
          this.statement('SELECT node, agent_id, bound_at FROM node_bindings WHERE cluster = ? ORDER BY node').all(
            cluster,
          ) as { node: string; agent_id: string; bound_at: number }[]
        ).map((r) => ({ node: r.node, agentId: r.agent_id, boundAt: r.bound_at })),
      removeAgent: (agentId) => {
        this.transaction(() => {
          this.statement('DELETE FROM node_approvals WHERE agent_id = ?').run(agentId);
          this.statement('DELETE FROM node_bindings WHERE agent_id = ?').run(agentId);
        });
      },
    };
  }

  private createClusterValueStore(): ClusterValueStore {
    type Row = { name: string; value: string; secret: number; updated_at: number };
    return {
      get: (cluster, name) => {
        const row = this.statement(
          'SELECT name, value, secret, updated_at FROM cluster_values WHERE cluster = ? AND name = ?',
        ).get(cluster, name) as Row | undefined;
        return row ? { value: row.value, secret: row.secret === 1, updatedAt: row.updated_at } : undefined;
      },
      all: (cluster) => {
        const rows = this.statement('SELECT name, value, secret, updated_at FROM cluster_values WHERE cluster = ?').all(
          cluster,
        ) as unknown as Row[];
        return new Map(
          rows.map((row) => [row.name, { value: row.value, secret: row.secret === 1, updatedAt: row.updated_at }]),
        );
      },
      set: (cluster, name, value) => {
        this.statement(
          `INSERT INTO cluster_values (cluster, name, value, secret, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (cluster, name) DO UPDATE SET value = excluded.value, secret = excluded.secret,
             updated_at = excluded.updated_at`,
        ).run(cluster, name, value.value, value.secret ? 1 : 0, value.updatedAt);
      },
      delete: (cluster, name) => {
        this.statement('DELETE FROM cluster_values WHERE cluster = ? AND name = ?').run(cluster, name);
      },
    };
  }

  private createRunStore(): RunStore {
    return {
      insert: (run) => {
        this.statement(
          'INSERT INTO runs (id, cluster, kind, state, created_at, finished_at, error) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(run.id, run.cluster, run.kind, run.state, run.createdAt, run.finishedAt, run.error);
      },
      get: (id) => {
        const row = this.statement('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
        return row ? runFromRow(row) : undefined;
      },
      list: (cluster) =>
        (cluster === undefined
          ? (this.statement('SELECT * FROM runs ORDER BY created_at, id').all() as unknown as RunRow[])
          : (this.statement('SELECT * FROM runs WHERE cluster = ? ORDER BY created_at, id').all(
              cluster,
            ) as unknown as RunRow[])
        ).map(runFromRow),
      unfinished: () =>
        (
          this.statement(
            "SELECT * FROM runs WHERE state IN ('running', 'cancelling') ORDER BY created_at, id",
          ).all() as unknown as RunRow[]
        ).map(runFromRow),
      update: (id, update) => {
        const current = this.statement('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
        if (!current) return;
        this.statement('UPDATE runs SET state = ?, finished_at = ?, error = ? WHERE id = ?').run(
          update.state ?? current.state,
          update.finishedAt === undefined ? current.finished_at : update.finishedAt,
          update.error === undefined ? current.error : update.error,
          id,
        );
      },
    };
  }

  private createStepStore(): StepStore {
    return {
      insert: (steps) => {
        const statement = this.statement(
          `INSERT INTO steps (run_id, id, seq, kind, node, depends_on, timeout_seconds, retry, concurrency_group,
             best_effort, for_node, state, attempt, agent_id, dispatched_at, started_at, finished_at, deadline_at,
             next_attempt_at, disconnected_at, error, changed, outputs)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        const params = this.statement('INSERT INTO step_params (run_id, id, params) VALUES (?, ?, ?)');
        const value = this.statement('INSERT OR IGNORE INTO param_values (run_id, hash, json) VALUES (?, ?, ?)');
        const hashes = new Map<string, string>();
        this.transaction(() => {
          for (const s of steps) {
            const share = (text: string) => {
              let hash = hashes.get(text);
              if (!hash) {
                hash = createHash('sha256').update(text).digest('base64url');
                hashes.set(text, hash);
                value.run(s.runId, hash, text);
              }
              return hash;
            };
            statement.run(
              s.runId,
              s.id,
              s.seq,
              s.kind,
              s.node,
              json(s.dependsOn),
              s.timeoutSeconds,
              json(s.retry),
              s.concurrencyGroup === null ? null : json(s.concurrencyGroup),
              s.bestEffort ? 1 : 0,
              s.forNode,
              s.state,
              s.attempt,
              s.agentId,
              s.dispatchedAt,
              s.startedAt,
              s.finishedAt,
              s.deadlineAt,
              s.nextAttemptAt,
              s.disconnectedAt,
              s.error === null ? null : json(s.error),
              s.changed ? 1 : 0,
              json(s.outputs),
            );
            params.run(s.runId, s.id, encodeParams(s.params, share));
          }
        });
      },
      list: (runId, withParams = true) => {
        if (!withParams) {
          return (
            this.statement("SELECT steps.*, '{}' AS params FROM steps WHERE run_id = ? ORDER BY seq").all(
              runId,
            ) as unknown as StepRow[]
          ).map(stepFromRow);
        }
        const rows = this.statement('SELECT hash, json FROM param_values WHERE run_id = ?').all(runId) as unknown as {
          hash: string;
          json: string;
        }[];
        const texts = new Map(rows.map((r) => [r.hash, r.json]));
        const parsed = new Map<string, unknown>();
        const shared = (hash: string) => {
          if (!parsed.has(hash)) parsed.set(hash, JSON.parse(texts.get(hash) ?? 'null'));
          return parsed.get(hash);
        };
        return (
          this.statement(
            `SELECT steps.*, step_params.params FROM steps
             JOIN step_params ON step_params.run_id = steps.run_id AND step_params.id = steps.id
             WHERE steps.run_id = ? ORDER BY steps.seq`,
          ).all(runId) as unknown as StepRow[]
        ).map((row) => ({ ...stepFromRow({ ...row, params: '{}' }), params: decodeParams(row.params, shared) }));
      },
      update: (runId, id, update) => {
        const sets: string[] = [];
        const values: unknown[] = [];
        for (const [key, value] of Object.entries(update) as [keyof StepUpdate, never][]) {
          const [column, encode] = stepColumns[key];
          sets.push(`${column} = ?`);
          values.push(encode(value));
        }
        if (sets.length === 0) return;
        this.statement(`UPDATE steps SET ${sets.join(', ')} WHERE run_id = ? AND id = ?`).run(
          ...(values as never[]),
          runId,
          id,
        );
      },
    };
  }

  private createEventStore(): RunEventStore {
    return {
      append: (event) => {
        const result = this.statement(
          `INSERT INTO run_events (run_id, at, type, step_id, node, attempt, state, message)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(event.runId, event.at, event.type, event.stepId, event.node, event.attempt, event.state, event.message);
        return { ...event, id: Number(result.lastInsertRowid) };
      },
      after: (runId, afterId, limit = 10_000) =>
        (
          this.statement('SELECT * FROM run_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?').all(
            runId,
            afterId,
            limit,
          ) as unknown as EventRow[]
        ).map(eventFromRow),
    };
  }
}
