import type { StoredBootstrapToken } from '../../pki/bootstrap-tokens.ts';
import type { TokenStore } from '../store.ts';
import type { SqlAccess } from './sql-access.ts';

interface TokenRow {
  id: string;
  secret_hash: string;
  description: string;
  created_at: number;
  expires_at: number;
  usage_limit: number;
  used_count: number;
}

function tokenFromRow(row: TokenRow): StoredBootstrapToken {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    description: row.description,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usageLimit: row.usage_limit,
    usedCount: row.used_count,
  };
}

/** Table bootstrap_tokens: enrollment tokens, by id, with the hash of their secret (never the secret). */
export function tokensTable(sql: SqlAccess): TokenStore & { countUse(id: string): void } {
  return {
    insert: (token) => {
      sql
        .statement(
          `INSERT INTO bootstrap_tokens (id, secret_hash, description, created_at, expires_at, usage_limit, used_count)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          token.id,
          token.secretHash,
          token.description,
          token.createdAt,
          token.expiresAt,
          token.usageLimit,
          token.usedCount,
        );
    },
    get: (id) => {
      const row = sql.statement('SELECT * FROM bootstrap_tokens WHERE id = ?').get(id) as TokenRow | undefined;
      return row ? tokenFromRow(row) : undefined;
    },
    list: () =>
      (sql.statement('SELECT * FROM bootstrap_tokens ORDER BY created_at').all() as unknown as TokenRow[]).map(
        tokenFromRow,
      ),
    delete: (id) => Number(sql.statement('DELETE FROM bootstrap_tokens WHERE id = ?').run(id).changes) > 0,
    countUse: (id) => {
      sql.statement('UPDATE bootstrap_tokens SET used_count = used_count + 1 WHERE id = ?').run(id);
    },
  };
}
