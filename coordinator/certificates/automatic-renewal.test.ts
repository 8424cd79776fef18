import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { StepEventReport } from '../../common/step-events.ts';
import type { MessageToAgent } from '../../proto/convert.ts';
import { capturedLogger } from '../../test/support/captured-logs.ts';
import { enrollAgentsInStore } from '../../test/support/enrolled-agents.ts';
import { requireClusterSpec } from '../cluster-spec/parse-cluster-spec.ts';
import type { AgentChannel } from '../scheduler/agent-outbox.ts';
import { RunEventBus } from '../scheduler/run-event-bus.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { AutomaticCertificateRenewal } from './automatic-renewal.ts';
import { CertificateInventories } from './certificate-inventories.ts';
import { certificateReport } from './certificate-report.fixture.ts';

const dayMs = 86_400_000;
const baseSpec = parse(
  readFileSync(
    new URL('../../test/fixtures/specs-valid/keepalived-single-control-plane.yaml', import.meta.url),
    'utf8',
  ),
) as { spec: Record<string, unknown> };
const cp1 = 'cp1.lab.example.com';

class ConnectedGateway implements AgentChannel {
  send(_agentId: string, _message: MessageToAgent): boolean {
    return true;
  }
  isConnected(): boolean {
    return true;
  }
}

const open: { scheduler: Scheduler; store: SqliteStore }[] = [];
afterEach(() => {
  for (const { scheduler, store } of open.splice(0)) {
    scheduler.stop();
    store.close();
  }
});

/** A deployed one-control-plane cluster, its agents enrolled, the inventories and the scheduler on one fake clock. */
function setUp(certificates: Record<string, unknown> | undefined = undefined) {
  const clock = { now: Date.parse('2027-01-01T00:00:00Z') };
  const now = () => clock.now;
  const spec = requireClusterSpec({
    ...baseSpec,
    spec: { ...baseSpec.spec, ...(certificates ? { certificates } : {}) },
  });
  const store = new SqliteStore(':memory:');
  enrollAgentsInStore(
    store,
    spec.spec.nodes.map((n) => ({ id: `agent-${n.name}`, hostname: n.name, address: n.address })),
  );
  for (const node of spec.spec.nodes) {
    const id = `agent-${node.name}`;
    store.agents.update(id, { connected: true });
    store.bindings.approve(id, node.name, 1);
  }
  store.clusters.put({
    name: 'lab',
    spec,
    createdAt: 1,
    updatedAt: 1,
    initializedAt: 2,
    appliedSpec: spec,
    appliedAt: 2,
  });
  const scheduler = new Scheduler({
    store,
    agents: new ConnectedGateway(),
    bus: new RunEventBus(),
    logger: capturedLogger('scheduler').logger,
    now,
    tickMs: 3_600_000,
  });
  open.push({ scheduler, store });
  const inventories = new CertificateInventories({
    thresholds: { warningDays: 30, criticalDays: 7 },
    logger: capturedLogger('certificates').logger,
    now,
  });
  const renewal = new AutomaticCertificateRenewal({
    store,
    certificates: inventories,
    startRun: (cluster, kind, options) => scheduler.startRun(cluster, kind, options),
    now,
    logger: capturedLogger('renewal').logger,
  });
  /** cp1's agent reports its apiserver certificate (and a CA) expiring at these times. */
  const report = (apiserverNotAfter: number, caNotAfter = clock.now + 3000 * dayMs) =>
    inventories.report(`agent-${cp1}`, {
      gatheredAtMs: clock.now,
      certificates: [
        certificateReport('apiserver', clock.now, apiserverNotAfter),
        certificateReport('ca', clock.now, caNotAfter, { isCa: true }),
      ],
    });
  return { clock, store, scheduler, renewal, report };
}

function finish(scheduler: Scheduler, runId: string, atMs: number): void {
  const event: StepEventReport = {
    type: 'finished',
    runId,
    stepId: `certs-renew/${cp1}`,
    attempt: 1,
    atMs,
    result: { outcome: 'succeeded', changed: true, outputs: {}, paramsChecksum: 'x', changes: [] },
  };
  scheduler.stepEvent(`agent-${cp1}`, event);
}

describe('automatic certificate renewal', () => {
  it('GIVEN a certificate entering the renewal window THEN the coordinator starts the renewal run once and its first event says why; not while it runs, not twice a day, not on a report older than the renewal', async () => {
    const { clock, store, scheduler, renewal, report } = setUp();
    // GIVEN the apiserver certificate expires in 40 days: outside the default 30-day window
    report(clock.now + 40 * dayMs);
    expect(renewal.check()).toEqual([]);

    // WHEN 11 days pass (29 days left)
    clock.now += 11 * dayMs;
    const started = renewal.check();

    // THEN one certs-renew run starts, and its first event says the coordinator started it, and why
    expect(started).toHaveLength(1);
    const run = store.runs.get(started[0]!.runId)!;
    expect(run).toMatchObject({ cluster: 'lab', kind: 'certs-renew', state: 'running' });
    const [first] = store.events.after(run.id, 0);
    expect(first!.message).toBe(
      'certs-renew run of lab started by the coordinator: certificate apiserver of cp1.lab.example.com expires in 29 day(s), on 2027-02-10T00:00:00.000Z, within spec.certificates.renewBeforeDays (30)',
    );
    expect(store.steps.list(run.id).map((s) => [s.id, s.params])).toEqual([
      [
        `certs-renew/${cp1}`,
        {
          renewIfExpiresBefore: new Date(clock.now + 365 * dayMs - 120_000).toISOString(),
          apiserverAddress: '172.16.0.11',
          restartTimeoutSeconds: 300,
        },
      ],
    ]);

    // AND while it runs, no other starts
    clock.now += 2 * dayMs;
    expect(renewal.check()).toEqual([]);

    // WHEN it succeeds, and a day later the agent has not reported since: the old report does not start another
    finish(scheduler, run.id, clock.now);
    await expect.poll(() => store.runs.get(run.id)?.state).toBe('succeeded');
    clock.now += 2 * dayMs;
    expect(renewal.check()).toEqual([]);

    // WHEN the agent reports the renewed certificate: nothing to do
    report(clock.now + 365 * dayMs);
    expect(renewal.check()).toEqual([]);
  });

  it('GIVEN a renewal run started less than a day ago (by the operator) THEN no automatic run; a day later, with the certificate still due in a new report, one starts', () => {
    const { clock, store, scheduler, renewal, report } = setUp();
    const manual = scheduler.startRun('lab', 'certs-renew');
    scheduler.cancel(manual.id);
    clock.now += 1000;
    report(clock.now + 5 * dayMs);
    expect(renewal.check()).toEqual([]);

    clock.now += dayMs;
    const [started] = renewal.check();
    expect(started?.reason).toMatch(/^certificate apiserver of cp1\.lab\.example\.com expires in 4 day\(s\)/);
    expect(store.runs.list('lab').filter((r) => r.kind === 'certs-renew')).toHaveLength(2);
  });

  it('GIVEN a cluster kubeadm init never ran on THEN a renewal run is refused, saying so', () => {
    const { store, scheduler } = setUp();
    store.clusters.put({ ...store.clusters.get('lab')!, initializedAt: null });
    expect(() => scheduler.startRun('lab', 'certs-renew')).toThrow(
      'cluster lab has no certificates to renew: kubeadm init has not run on it (deploy it first)',
    );
  });

  it('GIVEN another run of the cluster in progress THEN the renewal waits for it', () => {
    const { clock, renewal, report, scheduler } = setUp();
    scheduler.startRun('lab', 'verify');
    report(clock.now + 3 * dayMs);
    expect(renewal.check()).toEqual([]);
  });

  it('GIVEN only a CA within the window THEN no run: kubeadm does not renew CAs', () => {
    const { clock, renewal, report } = setUp();
    report(clock.now + 300 * dayMs, clock.now + 3 * dayMs);
    expect(renewal.check()).toEqual([]);
  });

  it('GIVEN spec.certificates renewBeforeDays 60 THEN 50 days left start it; autoRenew false never does', () => {
    const sixty = setUp({ renewBeforeDays: 60 });
    sixty.report(sixty.clock.now + 50 * dayMs);
    expect(sixty.renewal.check()[0]?.reason).toMatch(/within spec\.certificates\.renewBeforeDays \(60\)$/);

    const off = setUp({ autoRenew: false });
    off.report(off.clock.now + 2 * dayMs);
    expect(off.renewal.check()).toEqual([]);
  });
});
