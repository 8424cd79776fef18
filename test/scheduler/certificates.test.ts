import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeHost } from '../../agent/host/fake-host.ts';
import type { ClusterCertificates } from '../../coordinator/api/routes/certificates-routes.ts';
import { certificateReport } from '../../coordinator/certificates/certificate-report.fixture.ts';
import { runEventsStream } from '../../coordinator/cli/run-events-stream.ts';
import { CertificateAuthority } from '../../coordinator/pki/certificate-authority.ts';
import type { CertificateReport } from '../../proto/convert.ts';
import { startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript, startSimFleet } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { FoundationHarness } from '../support/foundation-harness.ts';
import { runKubehaCli } from '../support/run-command.ts';
import { waitFor } from '../support/wait-for.ts';

const dayMs = 86_400_000;
const t = simFleetPerTest();

function certificate(name: string, daysLeft: number, extra: Partial<CertificateReport> = {}): CertificateReport {
  const now = Date.now();
  return certificateReport(name, now, now + daysLeft * dayMs + 3_600_000, extra);
}

describe('certificate inventory across a cluster', () => {
  it('GIVEN agents that report their certificates THEN the API and `kubeha get certs` list every node’s, the soonest to expire first, warnings are logged and counted, and a reconnecting agent re-sends its own', async () => {
    const { sim, agents, spec } = await t.startFleet({
      name: 'certs-a',
      controlPlanes: 3,
      workers: 1,
      script: simScript({ default: 10 }),
    });
    t.dir = mkdtempSync(join(tmpdir(), 'kubeha-certs-'));
    await sim.api.request('POST', '/v1/clusters', spec);
    const [cp1, cp2, , w1] = agents;
    cp1!.reportCertificates({
      gatheredAtMs: Date.now(),
      certificates: [
        certificate('ca', 3650, { issuer: 'CN=kubernetes', subject: 'CN=kubernetes', isCa: true }),
        certificate('apiserver', 200, { sans: ['DNS:kubernetes', 'IP Address:10.10.0.11'] }),
        certificate('admin.conf', 25, {
          file: '/etc/kubernetes/admin.conf',
          kubeconfigUser: 'kubernetes-admin',
          subject: 'O=kubeadm:cluster-admins, CN=kubernetes-admin',
        }),
      ],
    });
    cp2!.reportCertificates({
      gatheredAtMs: Date.now(),
      certificates: [certificate('etcd/peer', 5, { issuer: 'CN=etcd-ca' }), certificate('apiserver', 300)],
    });

    const listed = await waitFor('two control planes listed', async () => {
      const reply = await sim.api.request<ClusterCertificates>('GET', '/v1/clusters/certs-a/certificates');
      return reply.certificates.length === 5 ? reply : undefined;
    });
    expect(listed.certificates.map((c) => [c.node, c.name, c.level])).toEqual([
      ['cp2', 'etcd/peer', 'critical'],
      ['cp1', 'admin.conf', 'warning'],
      ['cp1', 'apiserver', 'ok'],
      ['cp2', 'apiserver', 'ok'],
      ['cp1', 'ca', 'ok'],
    ]);
    expect(listed.nodesWithoutReport).toEqual(['cp3', 'w1']);
    expect(listed.certificates[1]).toMatchObject({
      kubeconfigUser: 'kubernetes-admin',
      file: '/etc/kubernetes/admin.conf',
      agentId: cp1!.options.agentId,
    });
    expect(listed.certificates[0]!.secondsLeft).toBeGreaterThan(5 * 86_400);
    expect(listed.certificates[0]!.secondsLeft).toBeLessThanOrEqual(5 * 86_400 + 3_600);

    // The warnings: one log line per certificate past a threshold, and the metrics.
    const warningLines = sim.logs
      .flatMap((chunk) => chunk.split('\n'))
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => typeof l.certificate === 'string');
    expect(warningLines.map((l) => [l.certificate, l.level, l.daysLeft])).toEqual(
      expect.arrayContaining([
        ['admin.conf', 'warning', 25],
        ['etcd/peer', 'critical', 5],
      ]),
    );
    expect(warningLines).toHaveLength(2);
    const metrics = (await sim.coordinator.metrics.render()).body;
    expect(metrics).toContain('kubeha_certificates{level="critical"} 1');
    expect(metrics).toContain('kubeha_certificates{level="warning"} 1');
    expect(metrics).toContain('kubeha_certificates{level="ok"} 3');
    expect(metrics).toMatch(/kubeha_certificate_soonest_expiry_seconds 4\d{5}/);

    // The CLI's table, the same order; -o json is the API's list.
    const kubeha = (args: string[]) => runKubehaCli(sim.coordinator, args, { HOME: t.dir! });
    const table = await kubeha(['get', 'certs', 'certs-a']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NODE\s+CERTIFICATE\s+EXPIRES\s+LEFT\s+CA\/ISSUER$/);
    expect(lines[1]).toMatch(/^cp2\s+etcd\/peer\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+5d\s+CN=etcd-ca$/);
    expect(lines[2]).toMatch(/^cp1\s+admin\.conf \(kubernetes-admin\)\s+\S+\s+25d\s+CN=kubernetes$/);
    expect(lines[5]).toMatch(/^cp1\s+ca\s+\S+\s+10y\s+CA$/);
    expect(table.stderr).toContain('no certificate report yet from: cp3, w1');
    const wide = await kubeha(['get', 'certs', 'certs-a', '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]).toMatch(/LEVEL\s+FILE\s+SUBJECT\s+SANS$/);
    expect(wide.stdout).toContain('DNS:kubernetes,IP Address:10.10.0.11');
    const json = JSON.parse((await kubeha(['get', 'certs', 'certs-a', '-o', 'json'])).stdout) as unknown[];
    expect(json).toEqual(listed.certificates.map((c) => ({ ...c, secondsLeft: expect.any(Number) })));
    expect((await kubeha(['get', 'certs', 'no-such'])).code).toBe(1);

    // The worker reports after a reconnect; its inventory goes with the new session as the agent's does.
    w1!.reportCertificates({
      gatheredAtMs: Date.now(),
      certificates: [
        certificate('kubelet-client-current', 360, { file: '/var/lib/kubelet/pki/kubelet-client-current.pem' }),
      ],
    });
    w1!.disconnectFor(100);
    const afterReconnect = await waitFor('the worker listed', async () => {
      const reply = await sim.api.request<ClusterCertificates>('GET', '/v1/clusters/certs-a/certificates');
      return reply.certificates.some((c) => c.node === 'w1') ? reply : undefined;
    });
    expect(afterReconnect.nodesWithoutReport).toEqual(['cp3']);
    expect(afterReconnect.certificates.map((c) => c.node)).toEqual(['cp2', 'cp1', 'cp1', 'cp2', 'w1', 'cp1']);
  });

  it('GIVEN a deployed cluster with a certificate 25 days from expiry WHEN a run starts THEN its events warn of it, naming node and certificate', async () => {
    const { sim, agents, spec } = await t.startFleet({
      name: 'certs-w',
      controlPlanes: 1,
      workers: 1,
      script: simScript({ default: 5 }),
    });
    await sim.api.request('POST', '/v1/clusters', spec);
    const deploy = await sim.api.request<{ id: string }>('POST', '/v1/clusters/certs-w/runs', { kind: 'deploy' });
    expect((await waitForRunEnd(sim.api, deploy.id)).state).toBe('succeeded');
    agents[0]!.reportCertificates({
      gatheredAtMs: Date.now(),
      certificates: [certificate('admin.conf', 25), certificate('apiserver', 300)],
    });
    await waitFor('the inventory at the coordinator', async () => {
      const reply = await sim.api.request<ClusterCertificates>('GET', '/v1/clusters/certs-w/certificates');
      return reply.certificates.length === 2;
    });
    const verify = await sim.api.request<{ id: string }>('POST', '/v1/clusters/certs-w/runs', { kind: 'verify' });
    await waitForRunEnd(sim.api, verify.id);
    const messages: string[] = [];
    for await (const e of runEventsStream(sim.api, verify.id)) messages.push(e.message);
    expect(messages.filter((m) => m.includes('certificate'))).toEqual([
      expect.stringMatching(/^warning: 1 certificate\(s\) expire within 30 days: admin.conf on cp1 in 25 day\(s\), /),
    ]);
  });
});

describe('certificate inventories across a coordinator restart', () => {
  it('GIVEN a coordinator restarted on its data THEN the inventories (kept in memory) are back once the agents reconnect and re-send them', async () => {
    t.dir = mkdtempSync(join(tmpdir(), 'kubeha-certs-restart-'));
    const dataDir = join(t.dir, 'coordinator');
    const first = await startSimCoordinator({ dataDir });
    t.sim = first;
    const fleet = await startSimFleet(first, {
      name: 'certs-b',
      controlPlanes: 1,
      workers: 1,
      script: simScript({ default: 10 }),
    });
    t.agents = fleet.agents;
    await first.api.request('POST', '/v1/clusters', fleet.spec);
    fleet.agents[0]!.reportCertificates({ gatheredAtMs: Date.now(), certificates: [certificate('apiserver', 100)] });
    fleet.agents[1]!.reportCertificates({
      gatheredAtMs: Date.now(),
      certificates: [certificate('kubelet-client-current', 50)],
    });
    const listedBefore = async (sim: typeof first) => {
      const reply = await sim.api.request<ClusterCertificates>('GET', '/v1/clusters/certs-b/certificates');
      return reply.certificates.length === 2 ? reply : undefined;
    };
    await waitFor('both nodes listed', () => listedBefore(first));

    // Stopped without removing its data directory (SimCoordinator.stop would), then started again on it.
    await first.coordinator.stop();
    t.sim = undefined;
    const second = await startSimCoordinator({ dataDir, grpcListen: first.grpcAddress });
    t.sim = second;
    const listed = await waitFor('both nodes listed again after the agents reconnected', () => listedBefore(second));
    expect(listed.certificates.map((c) => [c.node, c.name])).toEqual([
      ['w1', 'kubelet-client-current'],
      ['cp1', 'apiserver'],
    ]);
    expect(listed.nodesWithoutReport).toEqual([]);
  });
});

describe('the real agent reports its node’s certificates over its session', () => {
  let h: FoundationHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('GIVEN kubeadm’s files on the agent’s host THEN the coordinator holds their inventory once the session opens', async () => {
    h = new FoundationHarness();
    await h.startCoordinator();
    const caMaterial = await CertificateAuthority.create('kubernetes', 3650);
    const server = await (await CertificateAuthority.load(caMaterial)).issueServerCertificate(['kubernetes'], 365);
    const host = new FakeHost({
      files: {
        '/etc/kubernetes/pki/ca.crt': caMaterial.certificatePem,
        '/etc/kubernetes/pki/ca.key': caMaterial.privateKeyPem,
        '/etc/kubernetes/pki/apiserver.crt': server.certificatePem,
      },
    });
    const token = await h.createToken();
    const enrolled = await h.enrollAgent('node1', token.token);
    h.runAgent(h.agentConfig(enrolled.configPath), 'node1', { host });
    const held = await waitFor('the inventory at the coordinator', () => {
      const all = h!.coordinator.certificates.all();
      return all.length > 0 ? all : undefined;
    });
    expect(held.map((c) => [c.name, c.isCa, c.issuer])).toEqual([
      ['apiserver', false, 'CN=kubernetes'],
      ['ca', true, 'CN=kubernetes'],
    ]);
    expect(held[0]!.agentId).toBe(enrolled.agentId);

    // The route is in the OpenAPI document and, like the others, needs the bearer token.
    const openapi = await h.coordinator.api.inject({ method: 'GET', url: '/docs/json' });
    expect(Object.keys((openapi.json() as { paths: Record<string, unknown> }).paths)).toContain(
      '/v1/clusters/{name}/certificates',
    );
    const anonymous = await h.coordinator.api.inject({ method: 'GET', url: '/v1/clusters/any/certificates' });
    expect(anonymous.statusCode).toBe(401);
    expect((await h.api('GET', '/v1/clusters/any/certificates')).status).toBe(404);
  });
});
