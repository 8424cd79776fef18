import { DatabaseSync } from 'node:sqlite';
import { bootstrapTokenProblem, type StoredBootstrapToken } from '../pki/bootstrap-tokens.ts';
import type { AgentRecord, AgentStore, AgentUpdate, EnrollmentRecord, Store, TokenStore } from './store.ts';

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
`;

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

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
    );
    this.db.exec(schema);
    this.agents = this.createAgentStore();
    this.tokens = this.createTokenStore();
  }

  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  enrollAgent(record: EnrollmentRecord): AgentRecord {
    return this.transaction(() => {
      const token = this.tokens.get(record.tokenId);
      const problem = bootstrapTokenProblem(token, record.tokenSecret, record.now);
      if (problem) throw problem;
      this.db.prepare('UPDATE bootstrap_tokens SET used_count = used_count + 1 WHERE id = ?').run(record.tokenId);
      const agent: AgentRecord = { ...record.agent, enrolledWithTokenId: record.tokenId };
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
}
