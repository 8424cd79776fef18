import { describe, expect, it } from 'vitest';
import { testSpec } from '../../test/support/test-spec.ts';
import type { AgentRecord, ClusterRecord } from '../store/store.ts';
import type { HeldCertificate } from './certificate-inventories.ts';
import { certificateReport } from './certificate-report.fixture.ts';
import { certificateRunWarnings } from './certificate-run-warnings.ts';

const dayMs = 86_400_000;
const now = Date.UTC(2026, 11, 3);
const spec = testSpec({
  nodes: [
    { name: 'cp1', address: '10.0.0.11', role: 'control-plane' },
    { name: 'cp2', address: '10.0.0.12', role: 'control-plane' },
    { name: 'cp3', address: '10.0.0.13', role: 'control-plane' },
  ],
});

function held(agentId: string, name: string, daysLeft: number): HeldCertificate {
  return { ...certificateReport(name, now, now + daysLeft * dayMs), agentId, receivedAtMs: now };
}

/** Three control planes bound to agent-cp1..3, the given certificates held for them, at the fake clock's `now`. */
function warnings(certificates: HeldCertificate[], initializedAt: number | null = 1, at = now): string[] {
  const cluster: ClusterRecord = {
    name: 'prod-a',
    spec,
    appliedSpec: spec,
    appliedAt: 1,
    createdAt: 1,
    updatedAt: 1,
    initializedAt,
  };
  return certificateRunWarnings(
    {
      store: {
        clusters: { get: (name: string) => (name === 'prod-a' ? cluster : undefined) } as never,
        agents: { list: (): AgentRecord[] => [] } as never,
        bindings: { bound: (_cluster: string, node: string) => `agent-${node}` } as never,
      },
      certificates: { of: (agentId) => certificates.filter((c) => c.agentId === agentId) },
      thresholds: { warningDays: 30, criticalDays: 7 },
    },
    'prod-a',
    at,
  );
}

describe('certificateRunWarnings', () => {
  it('GIVEN certificates 40, 20, 5 and -1 days from expiry THEN one line per level, most urgent first, with node and date', () => {
    expect(
      warnings([
        held('agent-cp1', 'apiserver', 40),
        held('agent-cp1', 'front-proxy-client', 20),
        held('agent-cp2', 'etcd/peer', 5),
        held('agent-cp3', 'admin.conf', -1),
      ]),
    ).toEqual([
      'expired: 1 certificate(s) have expired: admin.conf on cp3 since 2026-12-02 (kubeha get certs; kubeha certs renew)',
      'critical: 1 certificate(s) expire within 7 days: etcd/peer on cp2 in 5 day(s), 2026-12-08 (kubeha get certs; kubeha certs renew)',
      'warning: 1 certificate(s) expire within 30 days: front-proxy-client on cp1 in 20 day(s), 2026-12-23 (kubeha get certs; kubeha certs renew)',
    ]);
  });

  it('GIVEN the fake clock moved 11 days on THEN the 40-day certificate warns and the 20-day one is critical', () => {
    const lines = warnings(
      [held('agent-cp1', 'apiserver', 40), held('agent-cp1', 'front-proxy-client', 20)],
      1,
      now + 14 * dayMs,
    );
    expect(lines.map((l) => l.slice(0, l.indexOf(':')))).toEqual(['critical', 'warning']);
    expect(lines[1]).toContain('apiserver on cp1 in 26 day(s)');
  });

  it('GIVEN seven certificates in the warning window THEN five are named, soonest first, and the rest counted', () => {
    const many = [25, 12, 20, 14, 29, 16, 18].map((d, i) => held('agent-cp1', `c${i}`, d));
    const [line] = warnings(many);
    expect(line).toMatch(/^warning: 7 certificate\(s\) .*: c1 on cp1 in 12 day.*c3 .*c5 .*c6 .*c2 .*, and 2 more/);
  });

  it('GIVEN nothing within 30 days, or a cluster kubeadm init has not made THEN no line', () => {
    expect(warnings([held('agent-cp1', 'apiserver', 200)])).toEqual([]);
    expect(warnings([held('agent-cp1', 'apiserver', 2)], null)).toEqual([]);
  });
});
