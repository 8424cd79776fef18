import { AgentsByAddress } from '../scheduler/agent-for-node.ts';
import { specForRun } from '../scheduler/cluster-state.ts';
import type { Store } from '../store/store.ts';
import {
  type ExpiryLevel,
  type ExpiryThresholds,
  expiryLevel,
  type HeldCertificate,
} from './certificate-inventories.ts';

const dayMs = 86_400_000;
/** Named one by one in an event; the rest are counted. */
const namedAtMost = 5;

/**
 * The certificate warnings every run of a cluster starts with: one line per level (expired, critical, warning) that
 * the certificates its nodes' agents last reported have reached, soonest first. Empty when all are further off.
 */
export function certificateRunWarnings(
  deps: {
    store: Pick<Store, 'clusters' | 'agents' | 'bindings'>;
    certificates: { of(agentId: string): readonly HeldCertificate[] };
    thresholds: ExpiryThresholds;
  },
  clusterName: string,
  now: number,
): string[] {
  const cluster = deps.store.clusters.get(clusterName);
  if (!cluster || cluster.initializedAt === null) return [];
  const spec = specForRun(cluster, 'verify');
  const index = new AgentsByAddress(deps.store.agents.list());
  const found = new Map<ExpiryLevel, { node: string; certificate: HeldCertificate }[]>();
  for (const node of spec.spec.nodes) {
    const agentId = deps.store.bindings.bound(clusterName, node.name) ?? index.get(node.address)?.id;
    if (agentId === undefined) continue;
    for (const certificate of deps.certificates.of(agentId)) {
      const level = expiryLevel(certificate.notAfterMs, now, deps.thresholds);
      if (level === 'ok') continue;
      found.set(level, [...(found.get(level) ?? []), { node: node.name, certificate }]);
    }
  }
  const lines: string[] = [];
  const heading: Record<Exclude<ExpiryLevel, 'ok'>, string> = {
    expired: 'have expired',
    critical: `expire within ${deps.thresholds.criticalDays} days`,
    warning: `expire within ${deps.thresholds.warningDays} days`,
  };
  for (const level of ['expired', 'critical', 'warning'] as const) {
    const all = (found.get(level) ?? []).sort((a, b) => a.certificate.notAfterMs - b.certificate.notAfterMs);
    if (all.length === 0) continue;
    const named = all.slice(0, namedAtMost).map(({ node, certificate }) => {
      const when = new Date(certificate.notAfterMs).toISOString().slice(0, 10);
      const left = Math.floor((certificate.notAfterMs - now) / dayMs);
      return `${certificate.name} on ${node} ${level === 'expired' ? `since ${when}` : `in ${left} day(s), ${when}`}`;
    });
    const more = all.length > namedAtMost ? `, and ${all.length - namedAtMost} more` : '';
    lines.push(
      `${level === 'warning' ? 'warning' : level}: ${all.length} certificate(s) ${heading[level]}: ${named.join('; ')}${more} ` +
        '(kubeha get certs; kubeha certs renew)',
    );
  }
  return lines;
}
