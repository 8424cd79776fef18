import type { ClusterRecord, ClusterStore, ClusterValueStore } from '../store.ts';
import { asJson, asJsonOrNull, rowMapper, type SqlAccess } from './sql-access.ts';

const clusterRows = rowMapper<ClusterRecord>(
  ['name', 'spec', 'appliedSpec', 'appliedAt', 'createdAt', 'updatedAt', 'initializedAt'],
  { spec: asJson, appliedSpec: asJsonOrNull },
);

/** Table clusters: each cluster's spec, by name. Deleting one deletes its runs and values. */
export function clustersTable(sql: SqlAccess): ClusterStore {
  return {
    get: (name) => {
      const row = sql.statement('SELECT * FROM clusters WHERE name = ?').get(name);
      return row ? clusterRows.fromRow(row) : undefined;
    },
    list: () => sql.statement('SELECT * FROM clusters ORDER BY name').all().map(clusterRows.fromRow),
    put: (record) => {
      sql
        .statement(
          `INSERT INTO clusters (${clusterRows.names}) VALUES (${clusterRows.placeholders})
           ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at,
             initialized_at = excluded.initialized_at, applied_spec = excluded.applied_spec,
             applied_at = excluded.applied_at`,
        )
        .run(...clusterRows.values(record));
    },
    delete: (name) =>
      sql.transaction(() => {
        sql.statement('DELETE FROM runs WHERE cluster = ?').run(name);
        sql.statement('DELETE FROM cluster_values WHERE cluster = ?').run(name);
        return Number(sql.statement('DELETE FROM clusters WHERE name = ?').run(name).changes) > 0;
      }),
  };
}

type ValueRow = { name: string; value: string; secret: number; updated_at: number };

const valueFromRow = (row: ValueRow) => ({ value: row.value, secret: row.secret === 1, updatedAt: row.updated_at });

/** Table cluster_values: the values the scheduler keeps per cluster (join credentials, the CA hash, kubeconfig). */
export function clusterValuesTable(sql: SqlAccess): ClusterValueStore {
  return {
    get: (cluster, name) => {
      const row = sql
        .statement('SELECT name, value, secret, updated_at FROM cluster_values WHERE cluster = ? AND name = ?')
        .get(cluster, name) as ValueRow | undefined;
      return row ? valueFromRow(row) : undefined;
    },
    all: (cluster) => {
      const rows = sql
        .statement('SELECT name, value, secret, updated_at FROM cluster_values WHERE cluster = ?')
        .all(cluster) as unknown as ValueRow[];
      return new Map(rows.map((row) => [row.name, valueFromRow(row)]));
    },
    set: (cluster, name, value) => {
      sql
        .statement(
          `INSERT INTO cluster_values (cluster, name, value, secret, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (cluster, name) DO UPDATE SET value = excluded.value, secret = excluded.secret,
             updated_at = excluded.updated_at`,
        )
        .run(cluster, name, value.value, value.secret ? 1 : 0, value.updatedAt);
    },
    delete: (cluster, name) => {
      sql.statement('DELETE FROM cluster_values WHERE cluster = ? AND name = ?').run(cluster, name);
    },
  };
}
