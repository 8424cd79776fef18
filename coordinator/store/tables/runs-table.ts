import type { RunEvent, RunEventStore, RunRecord, RunStore } from '../store.ts';
import { rowMapper, type SqlAccess, updateColumns } from './sql-access.ts';

const runRows = rowMapper<RunRecord>(['id', 'cluster', 'kind', 'state', 'createdAt', 'finishedAt', 'error']);

/** Table runs: one row per run of a cluster; its steps and events go with it. */
export function runsTable(sql: SqlAccess): RunStore {
  const rows = (text: string, ...keys: string[]) =>
    sql
      .statement(text)
      .all(...keys)
      .map(runRows.fromRow);
  return {
    insert: (run) => {
      sql.statement(`INSERT INTO runs (${runRows.names}) VALUES (${runRows.placeholders})`).run(...runRows.values(run));
    },
    get: (id) => {
      const row = sql.statement('SELECT * FROM runs WHERE id = ?').get(id);
      return row ? runRows.fromRow(row) : undefined;
    },
    list: (cluster) =>
      cluster === undefined
        ? rows('SELECT * FROM runs ORDER BY created_at, id')
        : rows('SELECT * FROM runs WHERE cluster = ? ORDER BY created_at, id', cluster),
    unfinished: () => rows("SELECT * FROM runs WHERE state = 'running' ORDER BY created_at, id"),
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
  return {
    append: (event) => {
      const result = sql
        .statement(`INSERT INTO run_events (${eventRows.names}) VALUES (${eventRows.placeholders})`)
        .run(...eventRows.values(event));
      return { ...event, id: Number(result.lastInsertRowid) };
    },
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
