import type { RunEvent, RunEventStore, RunRecord, RunStore } from '../store.ts';
import { asIs, type Columns, type SqlAccess, updateColumns } from './sql-access.ts';

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

const columns: Columns<Parameters<RunStore['update']>[1]> = {
  state: ['state', asIs],
  finishedAt: ['finished_at', asIs],
  error: ['error', asIs],
};

/** Table runs: one row per run of a cluster; its steps and events go with it. */
export function runsTable(sql: SqlAccess): RunStore {
  const rows = (text: string, ...keys: string[]) =>
    (sql.statement(text).all(...keys) as unknown as RunRow[]).map(runFromRow);
  return {
    insert: (run) => {
      sql
        .statement(
          'INSERT INTO runs (id, cluster, kind, state, created_at, finished_at, error) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(run.id, run.cluster, run.kind, run.state, run.createdAt, run.finishedAt, run.error);
    },
    get: (id) => {
      const row = sql.statement('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
      return row ? runFromRow(row) : undefined;
    },
    list: (cluster) =>
      cluster === undefined
        ? rows('SELECT * FROM runs ORDER BY created_at, id')
        : rows('SELECT * FROM runs WHERE cluster = ? ORDER BY created_at, id', cluster),
    unfinished: () => rows("SELECT * FROM runs WHERE state = 'running' ORDER BY created_at, id"),
    update: (id, update) => updateColumns(sql, 'runs', columns, update, 'id = ?', [id]),
    countByKindAndState: () =>
      sql
        .statement('SELECT kind, state, count(*) AS count FROM runs GROUP BY kind, state')
        .all()
        .map((row) => ({ kind: String(row['kind']), state: String(row['state']), count: Number(row['count']) })),
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

/** Table run_events: a run's event log; the id is the SSE event id, increasing across all runs. */
export function runEventsTable(sql: SqlAccess): RunEventStore {
  return {
    append: (event) => {
      const result = sql
        .statement(
          `INSERT INTO run_events (run_id, at, type, step_id, node, attempt, state, message)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(event.runId, event.at, event.type, event.stepId, event.node, event.attempt, event.state, event.message);
      return { ...event, id: Number(result.lastInsertRowid) };
    },
    after: (runId, afterId, limit = 10_000) =>
      (
        sql
          .statement('SELECT * FROM run_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?')
          .all(runId, afterId, limit) as unknown as EventRow[]
      ).map(eventFromRow),
    lastId: (runId) =>
      Number(
        (sql.statement('SELECT MAX(id) AS id FROM run_events WHERE run_id = ?').get(runId) as { id: number | null })
          .id ?? 0,
      ),
  };
}
