import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { generateEcdsaKeyPair, x509 } from '../../common/x509.ts';
import { apiBodyLimitBytes } from '../../coordinator/api/api-limits.ts';
import { factsToProto } from '../../proto/convert.ts';
import { loadAgentGateway } from '../../proto/load-agent-gateway.ts';
import { startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { createEnrollToken, simFacts, simScript, startSimFleet } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { runKubehaCli } from '../support/run-command.ts';

const t = simFleetPerTest();

/** One raw HTTP exchange on the API's socket: status line and body as the server wrote them. */
function rawHttp(port: number, text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe('caps on what agents send', () => {
  it('GIVEN an agent enrolling with a 1 MB hostname full of control characters and 500 interfaces THEN the stored facts are bounded and clean', async () => {
    t.sim = await startSimCoordinator();
    const { token } = await createEnrollToken(t.sim.api, 1);
    const facts = simFacts({ name: 'big', address: '10.10.0.50', role: 'worker' });
    const huge = {
      ...facts,
      hostname: `evil\u001b[2J\r\n${'h'.repeat(1_000_000)}`,
      kernel: `5.14\u0000\u0007${'k'.repeat(10_000)}`,
      interfaces: Array.from({ length: 500 }, (_, i) => ({
        name: `eth${i}`,
        mac: '00:00:00:00:00:01',
        addresses: Array.from({ length: 100 }, () => '10.10.0.50/16'),
        virtual: false,
      })),
    };
    const keys = await generateEcdsaKeyPair();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=big',
      keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const proto = loadAgentGateway();
    const client = new proto.kubeha.v1.AgentGateway(
      t.sim.grpcAddress,
      grpc.credentials.createSsl(Buffer.from(t.sim.coordinator.caCertificatePem)),
    );
    try {
      await new Promise((resolve, reject) =>
        client.Enroll(
          { token, csr_pem: csr.toString('pem'), facts: factsToProto(huge), agent_version: 'sim' },
          { deadline: Date.now() + 30_000 },
          (error, response) => (error ? reject(error) : resolve(response)),
        ),
      );
    } finally {
      client.close();
    }
    const { agents: listed } = await t.sim.api.request<{
      agents: {
        hostname: string;
        facts: { hostname: string; kernel: string; interfaces: { addresses: string[] }[] };
      }[];
    }>('GET', '/v1/agents');
    expect(listed).toHaveLength(1);
    const agent = listed[0]!;
    expect(agent.hostname.length).toBeLessThanOrEqual(253);
    expect(agent.hostname.startsWith('evil[2Jhhh')).toBe(true);
    expect(agent.facts.kernel.startsWith('5.14kkk')).toBe(true);
    expect(agent.facts.kernel.length).toBeLessThanOrEqual(256);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(JSON.stringify(listed)).not.toMatch(/\\u00[01][0-9a-f]|[\u0000-\u001f]/);
    expect(agent.facts.interfaces.length).toBeLessThanOrEqual(64);
    expect(Math.max(...agent.facts.interfaces.map((i) => i.addresses.length))).toBeLessThanOrEqual(32);
    expect(t.sim.logs.join('').length).toBeLessThan(200_000);
  });
});

describe('API shapes', () => {
  it('GIVEN a finished run WHEN its events are asked for with ?lastEventId=5 THEN the stream starts after event 5', async () => {
    t.sim = await startSimCoordinator();
    const fleet = await startSimFleet(t.sim, { name: 'ev-a', controlPlanes: 1, workers: 0, script: simScript({}) });
    t.agents = fleet.agents;
    await t.sim.api.request('POST', '/v1/clusters', fleet.spec);
    const run = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/ev-a/runs', { kind: 'deploy' });
    await waitForRunEnd(t.sim.api, run.id);
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `${t.sim!.coordinator.apiUrl}/v1/runs/${run.id}/events?lastEventId=5`,
        { headers: { authorization: `Bearer ${t.sim!.coordinator.adminToken}` } },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status, body).toBe(200);
    const ids = [...body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids.length).toBeGreaterThan(0);
    expect(Math.min(...ids)).toBeGreaterThan(5);
  });

  it("GIVEN requests fastify's router or node's parser refuse THEN the reply is the documented error shape", async () => {
    t.sim = await startSimCoordinator();
    const port = t.sim.coordinator.apiPort;
    const auth = `Authorization: Bearer ${t.sim.coordinator.adminToken}\r\n`;
    const badUrl = await rawHttp(port, `GET /v1/runs/%E0%A4%A HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`);
    const longParam = await rawHttp(
      port,
      `GET /v1/runs/${'r'.repeat(500)} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`,
    );
    const hugeHeaders = await rawHttp(
      port,
      `GET /v1/agents?${'q'.repeat(40_000)} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`,
    );
    for (const [reply, status] of [
      [badUrl, 400],
      [longParam, 414],
      [hugeHeaders, 431],
    ] as const) {
      expect(reply.status, reply.body).toBe(status);
      expect(JSON.parse(reply.body)).toEqual({
        error: { code: 'KUBEHA_BAD_REQUEST', message: expect.any(String) },
      });
    }
  });
});

describe('the CLI and the body limit', () => {
  it('GIVEN a spec file over the API body limit WHEN applied THEN the CLI refuses before connecting (exit 2)', async () => {
    t.dir = mkdtempSync(join(tmpdir(), 'kubeha-caps-'));
    const file = join(t.dir, 'cluster.yaml');
    writeFileSync(
      file,
      `apiVersion: kubeha.io/v1\nkind: Cluster\nmetadata: { name: big }\n# ${'x'.repeat(apiBodyLimitBytes)}\n`,
    );
    // Port 9 (discard) on loopback: a CLI that tried to send would fail with a connection error (exit 1).
    const result = await runKubehaCli(
      { apiUrl: 'http://127.0.0.1:9', adminToken: 'x'.repeat(64) },
      ['apply', '-f', file],
      {
        HOME: t.dir,
      },
    );
    expect(result.stderr).toMatch(/cluster\.yaml is \d+ bytes; the coordinator reads at most 4194304 bytes/);
    expect(result.code).toBe(2);
  });
});
