import { createHash } from 'node:crypto';
import type { StepAttemptError, StepRecord, StepStore, StepUpdate } from '../store.ts';
import { asFlag, asIs, asJson, asJsonOrNull, type Columns, json, type SqlAccess, updateColumns } from './sql-access.ts';

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

const columns: Columns<StepUpdate> = {
  dependsOn: ['depends_on', asJson],
  state: ['state', asIs],
  attempt: ['attempt', asIs],
  agentId: ['agent_id', asIs],
  dispatchedAt: ['dispatched_at', asIs],
  startedAt: ['started_at', asIs],
  finishedAt: ['finished_at', asIs],
  deadlineAt: ['deadline_at', asIs],
  nextAttemptAt: ['next_attempt_at', asIs],
  disconnectedAt: ['disconnected_at', asIs],
  error: ['error', asJsonOrNull],
  changed: ['changed', asFlag],
  outputs: ['outputs', asJson],
};

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

/**
 * Tables steps, step_params and param_values: a run's steps, their parameters apart from their progress (a row is
 * rewritten whole on update, and parameters can be large), and large parameter values once per run.
 */
export function stepsTable(sql: SqlAccess): StepStore {
  return {
    insert: (steps) => {
      const statement = sql.statement(
        `INSERT INTO steps (run_id, id, seq, kind, node, depends_on, timeout_seconds, retry, concurrency_group,
           best_effort, for_node, state, attempt, agent_id, dispatched_at, started_at, finished_at, deadline_at,
           next_attempt_at, disconnected_at, error, changed, outputs)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const params = sql.statement('INSERT INTO step_params (run_id, id, params) VALUES (?, ?, ?)');
      const value = sql.statement('INSERT OR IGNORE INTO param_values (run_id, hash, json) VALUES (?, ?, ?)');
      const hashes = new Map<string, string>();
      sql.transaction(() => {
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
          sql
            .statement("SELECT steps.*, '{}' AS params FROM steps WHERE run_id = ? ORDER BY seq")
            .all(runId) as unknown as StepRow[]
        ).map(stepFromRow);
      }
      const rows = sql.statement('SELECT hash, json FROM param_values WHERE run_id = ?').all(runId) as unknown as {
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
        sql
          .statement(
            `SELECT steps.*, step_params.params FROM steps
             JOIN step_params ON step_params.run_id = steps.run_id AND step_params.id = steps.id
             WHERE steps.run_id = ? ORDER BY steps.seq`,
          )
          .all(runId) as unknown as StepRow[]
      ).map((row) => ({ ...stepFromRow({ ...row, params: '{}' }), params: decodeParams(row.params, shared) }));
    },
    update: (runId, id, update) =>
      sql.transaction(() => {
        updateColumns(sql, 'steps', columns, update, 'run_id = ? AND id = ?', [runId, id]);
        // The steps row holds the latest error only: each attempt's is kept here, for describe run.
        if (update.error) {
          sql
            .statement(
              `INSERT OR REPLACE INTO step_attempt_errors (run_id, step_id, attempt, finished_at, next_attempt_at, error)
               SELECT run_id, id, attempt, finished_at, next_attempt_at, error FROM steps WHERE run_id = ? AND id = ?`,
            )
            .run(runId, id);
        }
      }),
    attemptErrors: (runId) => {
      const rows = sql
        .statement(
          `SELECT step_id, attempt, finished_at, next_attempt_at, error FROM step_attempt_errors
           WHERE run_id = ? ORDER BY step_id, attempt`,
        )
        .all(runId) as unknown as {
        step_id: string;
        attempt: number;
        finished_at: number | null;
        next_attempt_at: number | null;
        error: string;
      }[];
      const byStep = new Map<string, StepAttemptError[]>();
      for (const row of rows) {
        const list = byStep.get(row.step_id) ?? [];
        list.push({
          attempt: row.attempt,
          finishedAt: row.finished_at,
          nextAttemptAt: row.next_attempt_at,
          error: JSON.parse(row.error),
        });
        byStep.set(row.step_id, list);
      }
      return byStep;
    },
  };
}
