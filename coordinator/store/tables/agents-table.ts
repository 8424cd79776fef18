import type { AgentRows } from '../live-heartbeats.ts';
import type { AgentRecord, AgentUpdate } from '../store.ts';
import { asFlag, asIs, asJson, asJsonOrNull, type Columns, type SqlAccess, updateColumns } from './sql-access.ts';

interface AgentRow {
  id: string;
  hostname: string;
  agent_version: string;
  facts: string;
  certificate_serial: string;
  pending_certificate_serial: string | null;
  certificate_not_after: number | null;
  enrolled_at: number;
  enrolled_with_token_id: string;
  revoked_at: number | null;
  connected: number;
  last_heartbeat_at: number | null;
  holds_vip: number;
  health: string | null;
}

function agentFromRow(row: AgentRow): AgentRecord {
  return {
    id: row.id,
    hostname: row.hostname,
    agentVersion: row.agent_version,
    facts: JSON.parse(row.facts),
    certificateSerial: row.certificate_serial,
    pendingCertificateSerial: row.pending_certificate_serial,
    certificateNotAfter: row.certificate_not_after,
    enrolledAt: row.enrolled_at,
    enrolledWithTokenId: row.enrolled_with_token_id,
    revokedAt: row.revoked_at,
    connected: row.connected === 1,
    lastHeartbeatAt: row.last_heartbeat_at,
    holdsVip: row.holds_vip === 1,
    health: row.health === null ? null : JSON.parse(row.health),
  };
}

const columns: Columns<AgentUpdate> = {
  hostname: ['hostname', asIs],
  agentVersion: ['agent_version', asIs],
  facts: ['facts', asJson],
  connected: ['connected', asFlag],
  lastHeartbeatAt: ['last_heartbeat_at', asIs],
  holdsVip: ['holds_vip', asFlag],
  health: ['health', asJsonOrNull],
  revokedAt: ['revoked_at', asIs],
  certificateSerial: ['certificate_serial', asIs],
  pendingCertificateSerial: ['pending_certificate_serial', asIs],
  certificateNotAfter: ['certificate_not_after', asIs],
};

/** Table agents: one row per enrolled agent, with its latest facts, session and health. */
export function agentsTable(sql: SqlAccess): AgentRows & { insert(agent: AgentRecord): void } {
  return {
    insert: (agent) => {
      sql
        .statement(
          `INSERT INTO agents (id, hostname, agent_version, facts, certificate_serial, enrolled_at, enrolled_with_token_id,
             revoked_at, connected, last_heartbeat_at, holds_vip, health, pending_certificate_serial,
             certificate_not_after)
           VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL, 0, NULL, NULL, ?)`,
        )
        .run(
          agent.id,
          agent.hostname,
          agent.agentVersion,
          JSON.stringify(agent.facts),
          agent.certificateSerial,
          agent.enrolledAt,
          agent.enrolledWithTokenId,
          agent.certificateNotAfter ?? null,
        );
    },
    get: (id) => {
      const row = sql.statement('SELECT * FROM agents WHERE id = ?').get(id) as AgentRow | undefined;
      return row ? agentFromRow(row) : undefined;
    },
    list: () =>
      (sql.statement('SELECT * FROM agents ORDER BY hostname, id').all() as unknown as AgentRow[]).map(agentFromRow),
    update: (id, update) => updateColumns(sql, 'agents', columns, update, 'id = ?', [id]),
    markAllDisconnected: () => {
      sql.statement('UPDATE agents SET connected = 0').run();
    },
    countEnrolled: () =>
      Number((sql.statement('SELECT count(*) AS n FROM agents WHERE revoked_at IS NULL').get() as { n: number }).n),
  };
}
