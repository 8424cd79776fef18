import { createHash } from 'node:crypto';
import type { StepAttemptError, StepRecord, StepStore } from '../store.ts';
import { asFlag, asJson, asJsonOrNull, json, rowMapper, type SqlAccess, updateColumns } from './sql-access.ts';

/** A step's row in steps; its parameters are kept in step_params. */
const stepRows = rowMapper<Omit<StepRecord, 'params'>>(
  [
    'runId',
    'id',
    'seq',
    'kind',
    'node',
    'dependsOn',
    'timeoutSeconds',
    'retry',
    'concurrencyGroup',
    'bestEffort',
    'forNode',
    'state',
    'attempt',
    'agentId',
    'dispatchedAt',
    'startedAt',
    'finishedAt',
    'deadlineAt',
    'nextAttemptAt',
    'disconnectedAt',
    'error',
    'changed',
    'outputs',
  ],
  {
    dependsOn: asJson,
    retry: asJson,
    concurrencyGroup: asJsonOrNull,
    bestEffort: asFlag,
    error: asJsonOrNull,
    changed: asFlag,
    outputs: asJson,
  },
);

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
      const statement = sql.statement(`INSERT INTO steps (${stepRows.names}) VALUES (${stepRows.placeholders})`);
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
          statement.run(...stepRows.values(s));
          params.run(s.runId, s.id, encodeParams(s.params, share));
        }
      });
    },
    list: (runId, withParams = true) => {
      if (!withParams) {
        return sql
          .statement('SELECT * FROM steps WHERE run_id = ? ORDER BY seq')
          .all(runId)
          .map((row) => ({ ...stepRows.fromRow(row), params: {} }));
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
      return sql
        .statement(
          `SELECT steps.*, step_params.params FROM steps
           JOIN step_params ON step_params.run_id = steps.run_id AND step_params.id = steps.id
           WHERE steps.run_id = ? ORDER BY steps.seq`,
        )
        .all(runId)
        .map((row) => ({ ...stepRows.fromRow(row), params: decodeParams(String(row['params']), shared) }));
    },
    update: (runId, id, update) =>
      sql.transaction(() => {
        updateColumns(sql, 'steps', stepRows.columns, update, 'run_id = ? AND id = ?', [runId, id]);
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
