import { hashTokenSecret } from '../../coordinator/pki/bootstrap-tokens.ts';
import type { SqliteStore } from '../../coordinator/store/sqlite-store.ts';
import { sampleFacts } from './foundation-harness.ts';

const tokenId = 'abcdef';
const tokenSecret = '0123456789abcdef';

/**
 * Agents enrolled straight into a store (no gateway) through one bootstrap token, each with sample facts for its
 * hostname and address, connected as `connected` says; approving or binding them is left to the test.
 */
export function enrollAgentsInStore(
  store: SqliteStore,
  agents: { id: string; hostname: string; address?: string }[],
  options: { connected?: boolean; agentVersion?: string } = {},
): void {
  store.tokens.insert({
    id: tokenId,
    secretHash: hashTokenSecret(tokenSecret),
    description: 'test',
    createdAt: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    usageLimit: agents.length,
    usedCount: 0,
  });
  for (const { id, hostname, address } of agents) {
    store.enrollAgent({
      tokenId,
      tokenSecret,
      now: 1,
      agent: {
        id,
        hostname,
        agentVersion: options.agentVersion ?? 'test',
        facts: sampleFacts(hostname, address),
        certificateSerial: `serial-${hostname}`,
        enrolledAt: 1,
        revokedAt: null,
        connected: options.connected ?? true,
        lastHeartbeatAt: null,
        holdsVip: false,
        health: null,
      },
    });
  }
}
