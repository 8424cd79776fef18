import type { AgentRows } from '../live-heartbeats.ts';
import type { AgentRecord } from '../store.ts';
import { asFlag, asJson, asJsonOrNull, rowMapper, type SqlAccess, tableRows, updateColumns } from './sql-access.ts';

const agentRows = rowMapper<AgentRecord>(
  [
    'id',
    'hostname',
    'agentVersion',
    'facts',
    'certificateSerial',
    'pendingCertificateSerial',
    'certificateNotAfter',
    'enrolledAt',
    'enrolledWithTokenId',
    'revokedAt',
    'connected',
    'lastHeartbeatAt',
    'holdsVip',
    'health',
  ],
  { facts: asJson, connected: asFlag, holdsVip: asFlag, health: asJsonOrNull },
);

/** Table agents: one row per enrolled agent, with its latest facts, session and health. */
export function agentsTable(sql: SqlAccess): AgentRows & { insert(agent: AgentRecord): void } {
  const rows = tableRows(sql, 'agents', agentRows);
  return {
    insert: (agent) => {
      // A new agent starts unrevoked and disconnected, with no heartbeat, VIP, health or pending certificate yet.
      const fresh: AgentRecord = {
        ...agent,
        pendingCertificateSerial: null,
        certificateNotAfter: agent.certificateNotAfter ?? null,
        revokedAt: null,
        connected: false,
        lastHeartbeatAt: null,
        holdsVip: false,
        health: null,
      };
      rows.insert(fresh);
    },
    get: (id) => rows.one('id = ?', id),
    list: () => rows.many('ORDER BY hostname, id'),
    update: (id, update) => updateColumns(sql, 'agents', agentRows.columns, update, 'id = ?', [id]),
    markAllDisconnected: () => {
      sql.statement('UPDATE agents SET connected = 0').run();
    },
    countEnrolled: () =>
      Number((sql.statement('SELECT count(*) AS n FROM agents WHERE revoked_at IS NULL').get() as { n: number }).n),
  };
}
