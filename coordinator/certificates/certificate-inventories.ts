import type { Logger } from '../../common/logger.ts';
import type { CertificateInventory, CertificateReport } from '../../proto/convert.ts';

const dayMs = 86_400_000;

export interface ExpiryThresholds {
  warningDays: number;
  criticalDays: number;
}

export type ExpiryLevel = 'ok' | 'warning' | 'critical' | 'expired';

/** How urgent a certificate's expiry is at `now`. */
export function expiryLevel(notAfterMs: number, now: number, thresholds: ExpiryThresholds): ExpiryLevel {
  const left = notAfterMs - now;
  if (left <= 0) return 'expired';
  if (left <= thresholds.criticalDays * dayMs) return 'critical';
  if (left <= thresholds.warningDays * dayMs) return 'warning';
  return 'ok';
}

const severity: Record<ExpiryLevel, number> = { ok: 0, warning: 1, critical: 2, expired: 3 };

/** One certificate as an agent reported it, with when the coordinator received the report. */
export interface HeldCertificate extends CertificateReport {
  agentId: string;
  receivedAtMs: number;
}

function certificateKey(agentId: string, c: CertificateReport): string {
  return `${agentId}\u0000${c.file}\u0000${c.kubeconfigUser}`;
}

/**
 * The newest certificate inventory of every agent, in memory only: an agent sends its inventory with every new
 * session, so after a coordinator restart each one is back as soon as its agent reconnects.
 *
 * Warnings: each certificate is logged once when it crosses into warning (warningDays left), critical (criticalDays
 * left) or expired, whether the crossing shows in a new report or as time passes (`check`). A renewed certificate
 * (a later notAfter) starts over.
 */
export class CertificateInventories {
  private readonly byAgent = new Map<string, HeldCertificate[]>();
  private readonly warned = new Map<string, { notAfterMs: number; level: ExpiryLevel }>();
  private readonly thresholds: ExpiryThresholds;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Names the node for log lines (the agent's hostname or cluster node), when known. */
  private readonly describeAgent: (agentId: string) => Record<string, string>;

  constructor(options: {
    thresholds: ExpiryThresholds;
    logger: Logger;
    now: () => number;
    describeAgent?: (agentId: string) => Record<string, string>;
  }) {
    this.thresholds = options.thresholds;
    this.logger = options.logger;
    this.now = options.now;
    this.describeAgent = options.describeAgent ?? (() => ({}));
  }

  /** Replaces the agent's inventory with this one and warns about what crossed a threshold. */
  report(agentId: string, inventory: CertificateInventory): void {
    const receivedAtMs = this.now();
    this.byAgent.set(
      agentId,
      inventory.certificates.map((c) => ({ ...c, agentId, receivedAtMs })),
    );
    const present = new Set(inventory.certificates.map((c) => certificateKey(agentId, c)));
    for (const key of this.warned.keys()) {
      if (key.startsWith(`${agentId}\u0000`) && !present.has(key)) this.warned.delete(key);
    }
    this.check();
  }

  /** The agent is revoked: its certificates are no longer listed. */
  forget(agentId: string): void {
    this.byAgent.delete(agentId);
    for (const key of this.warned.keys()) if (key.startsWith(`${agentId}\u0000`)) this.warned.delete(key);
  }

  of(agentId: string): readonly HeldCertificate[] {
    return this.byAgent.get(agentId) ?? [];
  }

  all(): HeldCertificate[] {
    return [...this.byAgent.values()].flat();
  }

  levelOf(certificate: CertificateReport): ExpiryLevel {
    return expiryLevel(certificate.notAfterMs, this.now(), this.thresholds);
  }

  /** Certificates at each level now (for metrics). */
  countByLevel(): Record<ExpiryLevel, number> {
    const counts: Record<ExpiryLevel, number> = { ok: 0, warning: 0, critical: 0, expired: 0 };
    for (const c of this.all()) counts[this.levelOf(c)]++;
    return counts;
  }

  /** Seconds until the soonest certificate expires (negative once expired); undefined when none is known. */
  soonestExpirySeconds(): number | undefined {
    const all = this.all();
    if (all.length === 0) return undefined;
    return (Math.min(...all.map((c) => c.notAfterMs)) - this.now()) / 1000;
  }

  /** Logs every certificate that reached a more urgent level since it was last warned about. */
  check(): void {
    const now = this.now();
    for (const [agentId, certificates] of this.byAgent) {
      for (const c of certificates) {
        const level = expiryLevel(c.notAfterMs, now, this.thresholds);
        const key = certificateKey(agentId, c);
        const previous = this.warned.get(key);
        const sameCertificate = previous?.notAfterMs === c.notAfterMs;
        if (level === 'ok') {
          if (!sameCertificate) this.warned.delete(key);
          continue;
        }
        if (sameCertificate && severity[previous.level] >= severity[level]) continue;
        this.warned.set(key, { notAfterMs: c.notAfterMs, level });
        const daysLeft = Math.floor((c.notAfterMs - now) / dayMs);
        const fields = {
          agentId,
          ...this.describeAgent(agentId),
          certificate: c.name,
          file: c.file,
          ...(c.kubeconfigUser ? { kubeconfigUser: c.kubeconfigUser } : {}),
          notAfter: new Date(c.notAfterMs).toISOString(),
          daysLeft,
          level,
        };
        const message =
          level === 'expired'
            ? `certificate ${c.name} has expired`
            : `certificate ${c.name} expires in ${daysLeft} day(s)`;
        if (level === 'warning') this.logger.warn(fields, message);
        else this.logger.error(fields, message);
      }
    }
  }
}
