import { describe, expect, it } from 'vitest';
import type { CertificateReport } from '../../proto/convert.ts';
import { capturedLogger } from '../../test/support/captured-logs.ts';
import { CertificateInventories, expiryLevel } from './certificate-inventories.ts';
import { certificateReport } from './certificate-report.fixture.ts';

const dayMs = 86_400_000;
const start = Date.parse('2027-01-01T00:00:00Z');

function certificate(name: string, daysLeft: number, extra: Partial<CertificateReport> = {}): CertificateReport {
  return certificateReport(name, start, start + daysLeft * dayMs, extra);
}

function setup(thresholds = { warningDays: 30, criticalDays: 7 }) {
  let now = start;
  const { logger, lines } = capturedLogger('certificates');
  const inventories = new CertificateInventories({
    thresholds,
    logger,
    now: () => now,
    describeAgent: (agentId) => ({ hostname: `host-of-${agentId}` }),
  });
  const warnings = () =>
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.certificate !== undefined);
  return {
    inventories,
    warnings,
    advanceDays(days: number) {
      now += days * dayMs;
      inventories.check();
    },
  };
}

describe('expiryLevel', () => {
  it('is ok above the warning threshold, warning at 30 days, critical at 7, expired at the end', () => {
    const t = { warningDays: 30, criticalDays: 7 };
    expect(expiryLevel(start + 31 * dayMs, start, t)).toBe('ok');
    expect(expiryLevel(start + 30 * dayMs, start, t)).toBe('warning');
    expect(expiryLevel(start + 8 * dayMs, start, t)).toBe('warning');
    expect(expiryLevel(start + 7 * dayMs, start, t)).toBe('critical');
    expect(expiryLevel(start + 1, start, t)).toBe('critical');
    expect(expiryLevel(start, start, t)).toBe('expired');
  });
});

describe('CertificateInventories (fake clock)', () => {
  it('warns once at 30 days, once at 7, once when expired, as the clock moves', () => {
    const { inventories, warnings, advanceDays } = setup();
    inventories.report('agent-a', { gatheredAtMs: start, certificates: [certificate('apiserver', 40)] });
    expect(warnings()).toEqual([]);

    advanceDays(9); // 31 days left
    expect(warnings()).toEqual([]);
    advanceDays(1); // 30 days left
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      level: 'warning',
      daysLeft: 30,
      certificate: 'apiserver',
      agentId: 'agent-a',
      hostname: 'host-of-agent-a',
      msg: 'certificate apiserver expires in 30 day(s)',
    });
    advanceDays(1);
    advanceDays(10); // 19 days left: still a warning, not repeated
    expect(warnings()).toHaveLength(1);

    // The agent's daily report of the same certificate does not repeat it either.
    inventories.report('agent-a', { gatheredAtMs: start, certificates: [certificate('apiserver', 40)] });
    expect(warnings()).toHaveLength(1);

    advanceDays(12); // 7 days left
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ level: 'critical', daysLeft: 7 });
    advanceDays(7); // expired
    expect(warnings()).toHaveLength(3);
    expect(warnings()[2]).toMatchObject({ level: 'expired', msg: 'certificate apiserver has expired' });
    advanceDays(1);
    expect(warnings()).toHaveLength(3);
  });

  it('uses the configured thresholds', () => {
    const { inventories, warnings, advanceDays } = setup({ warningDays: 60, criticalDays: 14 });
    inventories.report('agent-a', { gatheredAtMs: start, certificates: [certificate('apiserver', 61)] });
    expect(warnings()).toEqual([]);
    advanceDays(1);
    expect(warnings().map((w) => [w.level, w.daysLeft])).toEqual([['warning', 60]]);
    advanceDays(46);
    expect(warnings().map((w) => [w.level, w.daysLeft])).toEqual([
      ['warning', 60],
      ['critical', 14],
    ]);
  });

  it('a certificate already inside 7 days when first reported is warned about once, as critical', () => {
    const { inventories, warnings } = setup();
    inventories.report('agent-a', { gatheredAtMs: start, certificates: [certificate('etcd/peer', 3)] });
    expect(warnings().map((w) => w.level)).toEqual(['critical']);
  });

  it('a renewed certificate (a later expiry) starts over: no warning until it nears its own end', () => {
    const { inventories, warnings, advanceDays } = setup();
    inventories.report('agent-a', { gatheredAtMs: start, certificates: [certificate('apiserver', 20)] });
    expect(warnings()).toHaveLength(1);
    inventories.report('agent-a', { gatheredAtMs: start, certificates: [certificate('apiserver', 365)] });
    advanceDays(300);
    expect(warnings()).toHaveLength(1);
    advanceDays(35); // 30 days left of the renewed one
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ level: 'warning', daysLeft: 30 });
  });

  it('counts certificates by level and gives the soonest expiry for the metrics; a revoked agent is forgotten', () => {
    const { inventories } = setup();
    expect(inventories.soonestExpirySeconds()).toBeUndefined();
    inventories.report('agent-a', {
      gatheredAtMs: start,
      certificates: [certificate('apiserver', 365), certificate('front-proxy-client', 20)],
    });
    inventories.report('agent-b', {
      gatheredAtMs: start,
      certificates: [certificate('ca', 3650, { isCa: true }), certificate('kubelet-client-current', 5)],
    });
    expect(inventories.countByLevel()).toEqual({ ok: 2, warning: 1, critical: 1, expired: 0 });
    expect(inventories.soonestExpirySeconds()).toBe(5 * 86_400);
    inventories.forget('agent-b');
    expect(inventories.all().map((c) => c.name)).toEqual(['apiserver', 'front-proxy-client']);
    expect(inventories.soonestExpirySeconds()).toBe(20 * 86_400);
  });
});
