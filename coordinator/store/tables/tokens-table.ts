import type { StoredBootstrapToken } from '../../pki/bootstrap-tokens.ts';
import type { TokenStore } from '../store.ts';
import { rowMapper, type SqlAccess, tableRows } from './sql-access.ts';

const tokenRows = rowMapper<StoredBootstrapToken>([
  'id',
  'secretHash',
  'description',
  'createdAt',
  'expiresAt',
  'usageLimit',
  'usedCount',
]);

/** Table bootstrap_tokens: enrollment tokens, by id, with the hash of their secret (never the secret). */
export function tokensTable(sql: SqlAccess): TokenStore & { countUse(id: string): void } {
  const rows = tableRows(sql, 'bootstrap_tokens', tokenRows);
  return {
    insert: (token) => {
      rows.insert(token);
    },
    get: (id) => rows.one('id = ?', id),
    list: () => rows.many('ORDER BY created_at'),
    delete: (id) => Number(sql.statement('DELETE FROM bootstrap_tokens WHERE id = ?').run(id).changes) > 0,
    countUse: (id) => {
      sql.statement('UPDATE bootstrap_tokens SET used_count = used_count + 1 WHERE id = ?').run(id);
    },
  };
}
