import type { RunEvent, RunEventStore, RunRecord, RunStore } from '../store.ts';
import { rowMapper, type SqlAccess, tableRows, updateColumns } from './sql-access.ts';

const runRows = rowMapper<RunRecord>(['id', 'cluster', 'kind', 'state', 'createdAt', 'finishedAt', 'error']);

/** Table runs: one row per run of a cluster; its steps and events go with it. */
export function runsTable(sql: SqlAccess): RunStore {
  const rows = tableRows(sql, 'runs', runRows);
  return {
    insert: (run) => {
      rows.insert(run);
    },
    get: (id) => rows.one('id = ?', id),
    list: (cluster) =>
      cluster === undefined
        ? rows.many('ORDER BY created_at, id')
        : rows.many('WHERE cluster = ? ORDER BY created_at, id', cluster),
    unfinished: () => rows.many("WHERE state = 'running' ORDER BY created_at, id"),
    update: (id, update) => updateColumns(sql, 'runs', runRows.columns, update, 'id = ?', [id]),
    countByKindAndState: () =>
      sql
        .statement('SELECT kind, state, count(*) AS count FROM runs GROUP BY kind, state')
        .all()
        .map((row) => ({ kind: String(row['kind']), state: String(row['state']), count: Number(row['count']) })),
  };
}

/** An event's row but for its id, which the database gives it. */
const eventRows = rowMapper<Omit<RunEvent, 'id'>>([
  'runId',
  'at',
  'type',
  'stepId',
  'node',
  'attempt',
  'state',
  'message',
]);

/** Table run_events: a run's event log; the id is the SSE event id, increasing across all runs. */
export function runEventsTable(sql: SqlAccess): RunEventStore {
  const rows = tableRows(sql, 'run_events', eventRows);
  return {
    append: (event) => ({ ...event, id: Number(rows.insert(event).lastInsertRowid) }),
    after: (runId, afterId, limit = 10_000) =>
      sql
        .statement('SELECT * FROM run_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?')
        .all(runId, afterId, limit)
        .map((row) => ({ id: Number(row['id']), ...eventRows.fromRow(row) })),
    lastId: (runId) =>
      Number(
        (sql.statement('SELECT MAX(id) AS id FROM run_events WHERE run_id = ?').get(runId) as { id: number | null })
          .id ?? 0,
      ),
  };
}
