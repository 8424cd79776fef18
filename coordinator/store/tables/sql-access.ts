import type { SQLInputValue, SQLOutputValue, StatementSync } from 'node:sqlite';

/** What a table's code needs of the database: cached prepared statements and the store's transaction. */
export interface SqlAccess {
  /** Prepared once per SQL text, then reused. */
  statement(sql: string): StatementSync;
  /** Runs fn in one write transaction; nested calls join the outer one. */
  transaction<T>(fn: () => T): T;
}

export const json = (v: unknown) => JSON.stringify(v);

/** How a field's value is kept in its column: encoded when written, decoded when read. */
export interface ColumnCodec {
  encode(value: never): SQLInputValue;
  decode(value: SQLOutputValue): unknown;
}

/** How a record's field is stored: its column, and the codec of its value. */
export type Column = readonly [name: string, codec: ColumnCodec];

/** The column of every field of R (a record, or the fields an update may change). */
export type Columns<R> = { readonly [K in keyof Required<R>]: Column };

/** Text, number or null, stored as it is. */
export const asIs: ColumnCodec = { encode: (v: string | number | null) => v, decode: (v) => v };
export const asFlag: ColumnCodec = { encode: (v: boolean) => (v ? 1 : 0), decode: (v) => v === 1 };
export const asJson: ColumnCodec = { encode: (v: unknown) => json(v), decode: (v) => JSON.parse(String(v)) };
export const asJsonOrNull: ColumnCodec = {
  encode: (v: unknown) => (v === null ? null : json(v)),
  decode: (v) => (v === null ? null : JSON.parse(String(v))),
};

/** The column of a field: its name in snake case (createdAt is created_at). */
export const columnOf = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * A table's rows as records, from one list of its fields (each kept in the column named for it, as it is unless a
 * codec says otherwise): reading a row, the column names and placeholders of an INSERT, the values of a record in
 * that order, and the columns of an update.
 */
export interface RowMapper<R> {
  readonly columns: Columns<R>;
  /** "a, b, c": every column, for an INSERT. */
  readonly names: string;
  /** "?, ?, ?": one placeholder per column. */
  readonly placeholders: string;
  fromRow(row: Record<string, SQLOutputValue>): R;
  values(record: R): SQLInputValue[];
}

export function rowMapper<R>(
  fields: readonly (keyof R & string)[],
  codecs: { readonly [K in keyof R]?: ColumnCodec } = {},
): RowMapper<R> {
  const entries = fields.map((field): [keyof R & string, Column] => [field, [columnOf(field), codecs[field] ?? asIs]]);
  return {
    columns: Object.fromEntries(entries) as Columns<R>,
    names: entries.map(([, [name]]) => name).join(', '),
    placeholders: entries.map(() => '?').join(', '),
    fromRow: (row) => {
      const record: Record<string, unknown> = {};
      for (const [field, [name, codec]] of entries) record[field] = codec.decode(row[name] ?? null);
      return record as R;
    },
    values: (record) => entries.map(([field, [, codec]]) => codec.encode(record[field] as never)),
  };
}

/** One table's rows as records: insert one, read the one a condition picks, read many (in the order asked for). */
export function tableRows<R>(sql: SqlAccess, table: string, mapper: RowMapper<R>) {
  return {
    insert: (record: R) =>
      sql
        .statement(`INSERT INTO ${table} (${mapper.names}) VALUES (${mapper.placeholders})`)
        .run(...mapper.values(record)),
    one: (where: string, ...keys: SQLInputValue[]): R | undefined => {
      const row = sql.statement(`SELECT * FROM ${table} WHERE ${where}`).get(...keys);
      return row ? mapper.fromRow(row) : undefined;
    },
    many: (clauses: string, ...keys: SQLInputValue[]): R[] =>
      sql
        .statement(`SELECT * FROM ${table} ${clauses}`)
        .all(...keys)
        .map(mapper.fromRow),
  };
}

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
    const [column, codec] = columns[field];
    sets.push(`${column} = ?`);
    values.push(codec.encode(value));
  }
  if (sets.length === 0) return;
  sql.statement(`UPDATE ${table} SET ${sets.join(', ')} WHERE ${where}`).run(...values, ...keys);
}
