import type { StoredBootstrapToken } from '../../pki/bootstrap-tokens.ts';
import type { TokenStore } from '../store.ts';
import { rowMapper, type SqlAccess } from './sql-access.ts';

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
  return {
    insert: (token) => {
      sql
        .statement(`INSERT INTO bootstrap_tokens (${tokenRows.names}) VALUES (${tokenRows.placeholders})`)
        .run(...tokenRows.values(token));
    },
    get: (id) => {
      const row = sql.statement('SELECT * FROM bootstrap_tokens WHERE id = ?').get(id);
      return row ? tokenRows.fromRow(row) : undefined;
    },
    list: () => sql.statement('SELECT * FROM bootstrap_tokens ORDER BY created_at').all().map(tokenRows.fromRow),
    delete: (id) => Number(sql.statement('DELETE FROM bootstrap_tokens WHERE id = ?').run(id).changes) > 0,
    countUse: (id) => {
      sql.statement('UPDATE bootstrap_tokens SET used_count = used_count + 1 WHERE id = ?').run(id);
    },
  };
}
