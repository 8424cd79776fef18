import type { SQLInputValue, StatementSync } from 'node:sqlite';

/** What a table's code needs of the database: cached prepared statements and the store's transaction. */
export interface SqlAccess {
  /** Prepared once per SQL text, then reused. */
  statement(sql: string): StatementSync;
  /** Runs fn in one write transaction; nested calls join the outer one. */
  transaction<T>(fn: () => T): T;
}

export const json = (v: unknown) => JSON.stringify(v);

/** How a record's field is stored: its column, and the encoding of its value as a column value. */
export type Column = readonly [name: string, encode: (value: never) => SQLInputValue];

/** The column of every field an update may change. */
export type Columns<U> = { readonly [K in keyof Required<U>]: Column };

export const asIs = (v: string | number | null): SQLInputValue => v;
export const asFlag = (v: boolean): SQLInputValue => (v ? 1 : 0);
export const asJson = (v: unknown): SQLInputValue => json(v);
export const asJsonOrNull = (v: unknown): SQLInputValue => (v === null ? null : json(v));

/** UPDATE table SET (the columns of the fields present in update) WHERE where; nothing when update is empty. */
export function updateColumns<U extends object>(
  sql: SqlAccess,
  table: string,
  columns: Columns<U>,
  update: U,
  where: string,
  keys: SQLInputValue[],
): void {
  const sets: string[] = [];
  const values: SQLInputValue[] = [];
  for (const [field, value] of Object.entries(update) as [keyof U, never][]) {
    if (value === undefined) continue;
    const [column, encode] = columns[field];
    sets.push(`${column} = ?`);
    values.push(encode(value));
  }
  if (sets.length === 0) return;
  sql.statement(`UPDATE ${table} SET ${sets.join(', ')} WHERE ${where}`).run(...values, ...keys);
}
