import type { SnapshotRecord, SnapshotRecordStore } from '../store.ts';
import { rowMapper, type SqlAccess, tableRows } from './sql-access.ts';

const snapshotRows = rowMapper<SnapshotRecord>([
  'cluster',
  'id',
  'node',
  'takenAtMs',
  'sizeBytes',
  'sha256',
  'revision',
  'totalKeys',
  'hash',
  'runId',
]);

/** Table etcd_snapshots: the metadata of the snapshot files the coordinator keeps, by cluster and id. */
export function etcdSnapshotsTable(sql: SqlAccess): SnapshotRecordStore {
  const rows = tableRows(sql, 'etcd_snapshots', snapshotRows);
  return {
    insert: (record) => {
      rows.insert(record);
    },
    list: (cluster) => rows.many('WHERE cluster = ? ORDER BY taken_at_ms DESC, id DESC', cluster),
    get: (cluster, id) => rows.one('cluster = ? AND id = ?', cluster, id),
    delete: (cluster, id) =>
      Number(sql.statement('DELETE FROM etcd_snapshots WHERE cluster = ? AND id = ?').run(cluster, id).changes) > 0,
  };
}
