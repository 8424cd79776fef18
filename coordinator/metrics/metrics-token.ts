import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The scrape token: a bearer token that reads GET /metrics and nothing else, made on first start in the data dir
 * (0600), so Prometheus never holds the admin token.
 */
export function ensureMetricsToken(dataDir: string): { token: string; path: string } {
  const path = join(dataDir, 'metrics-token');
  if (!existsSync(path)) {
    const temp = `${path}.tmp-${process.pid}`;
    writeFileSync(temp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    renameSync(temp, path);
  }
  chmodSync(path, 0o600);
  return { token: readFileSync(path, 'utf8').trim(), path };
}
