import { readFileSync, statSync } from 'node:fs';
import { connect, createServer as createTlsServer } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { generateEcdsaKeyPair, x509 } from '../../common/x509.ts';
import { CertificateAuthority } from '../../coordinator/pki/certificate-authority.ts';
import type { CoordinatorMessage__Output } from '../../proto/generated/kubeha/v1/CoordinatorMessage.ts';
import { loadAgentGateway } from '../../proto/load-agent-gateway.ts';
import { FoundationHarness, sampleFacts } from '../support/foundation-harness.ts';
import { waitFor } from '../support/wait-for.ts';

interface AgentView {
  id: string;
  hostname: string;
  connected: boolean;
  revoked: boolean;
  lastHeartbeatAt: string | null;
  facts: { hostname: string; osId: string; interfaces: { mac: string }[]; productUuid: string };
}

let h: FoundationHarness;

beforeEach(async () => {
  h = new FoundationHarness();
  await h.startCoordinator();
});

afterEach(async () => {
  await h.close();
});

async function listAgents(): Promise<AgentView[]> {
  return (await h.api<{ agents: AgentView[] }>('GET', '/v1/agents')).body.agents;
}

/** Opens a Session with the given credentials and reports how it ended. */
function tryOpenSession(
  credentials: grpc.ChannelCredentials,
  agentId: string,
): Promise<{ code: number; details: string }> {
  const proto = loadAgentGateway();
  const client = new proto.kubeha.v1.AgentGateway(`127.0.0.1:${h.coordinator.grpcPort}`, credentials);
  return new Promise((resolve) => {
    const stream = client.Session();
    stream.on('data', (_m: CoordinatorMessage__Output) => {});
    stream.on('metadata', () => {
      stream.end();
      client.close();
      resolve({ code: grpc.status.OK, details: 'session accepted' });
    });
    stream.on('error', (error: grpc.ServiceError) => {
      client.close();
      resolve({ code: error.code, details: error.details });
    });
    stream.write({ hello: { agent_id: agentId, agent_version: 'x', facts: null, unacknowledged: [], running: [] } });
  });
}

describe('enrollment and session over real sockets', () => {
  it('GIVEN a token WHEN an agent enrolls and runs THEN it is listed with its facts and a recent heartbeat', async () => {
    const token = await h.createToken();
    const enrolled = await h.enrollAgent('k8s-master1', token.token);

    for (const file of ['agent.key', 'agent.crt', 'ca.crt', 'agent.yaml']) {
      expect(statSync(`${enrolled.stateDir}/${file}`).mode & 0o777, file).toBe(0o600);
    }
    const config = h.agentConfig(enrolled.configPath);
    expect(config.agentId).toBe(enrolled.agentId);

    h.runAgent(config, 'k8s-master1');
    const agent = await waitFor('a heartbeat', async () => {
      const found = (await listAgents()).find((a) => a.id === enrolled.agentId);
      return found?.connected && found.lastHeartbeatAt ? found : undefined;
    });
    expect(agent.hostname).toBe('k8s-master1');
    expect(agent.facts.osId).toBe('rocky');
    expect(agent.facts.interfaces[0]?.mac).toBe('52:54:00:12:34:56');
    expect(agent.facts.productUuid).toBe('4c4c4544-0042-3510-8052-b4c04f565231');
    expect(Date.now() - Date.parse(agent.lastHeartbeatAt!)).toBeLessThan(10_000);

    const first = Date.parse(agent.lastHeartbeatAt!);
    await waitFor('a later heartbeat', async () => {
      const again = (await listAgents()).find((a) => a.id === enrolled.agentId);
      return again?.lastHeartbeatAt && Date.parse(again.lastHeartbeatAt) > first ? true : undefined;
    });
  });

  it('GIVEN expired, unknown and used-up tokens THEN enrollment fails clearly and nothing is stored', async () => {
    const usedUp = await h.createToken({ usageLimit: 1 });
    await h.enrollAgent('first', usedUp.token);
    const before = (await listAgents()).length;

    await expect(h.enrollAgent('second', usedUp.token)).rejects.toThrow(/used 1 of 1 times/);
    await expect(h.enrollAgent('unknown', 'abcdef.0123456789abcdef')).rejects.toThrow(/unknown bootstrap token/);

    const expiring = await h.createToken({ ttlSeconds: 60 });
    const realNow = Date.now;
    h.now = () => realNow() + 61_000;
    await expect(h.enrollAgent('late', expiring.token)).rejects.toThrow(/expired/);
    h.now = realNow;

    expect((await listAgents()).length).toBe(before);
    const tokens = (await h.api<{ tokens: { id: string; usedCount: number }[] }>('GET', '/v1/tokens')).body.tokens;
    expect(tokens.find((t) => t.id === expiring.id)?.usedCount).toBe(0);
    expect(tokens.find((t) => t.id === usedUp.id)?.usedCount).toBe(1);
  });

  it('GIVEN the wrong CA hash THEN the agent refuses and no byte of the token reaches the coordinator', async () => {
    // A TLS server with another CA stands where the coordinator should be, and records everything it receives.
    const otherCa = await CertificateAuthority.load(await CertificateAuthority.create('impostor-ca'));
    const serverCert = await otherCa.issueServerCertificate(['127.0.0.1']);
    const received: Buffer[] = [];
    let connections = 0;
    const impostor = createTlsServer(
      {
        key: serverCert.privateKeyPem,
        cert: `${serverCert.certificatePem.trim()}\n${otherCa.certificatePem.trim()}\n`,
        ALPNProtocols: ['h2'],
      },
      (socket) => {
        connections++;
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        socket.on('error', () => {});
      },
    );
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const port = (impostor.address() as { port: number }).port;
    const token = await h.createToken();
    try {
      const { enroll } = await import('../../agent/enrollment/enroll.ts');
      const attempt = enroll({
        coordinator: `127.0.0.1:${port}`,
        token: token.token,
        caCertHash: h.coordinator.caCertHash,
        configPath: `${h.work}/wrong/agent.yaml`,
        stateDir: `${h.work}/wrong`,
        agentVersion: 'test',
        facts: sampleFacts('wrong'),
        timeoutMs: 3_000,
      });
      await expect(attempt).rejects.toMatchObject({ code: ErrorCode.caHashMismatch });
      await expect(attempt).rejects.toThrow(/Nothing was sent/);
      await new Promise((r) => setTimeout(r, 100));
      expect(connections).toBe(1);
      expect(Buffer.concat(received).toString('latin1')).not.toContain(token.token.split('.')[1]);
      expect(Buffer.concat(received).length).toBe(0);
    } finally {
      impostor.close();
    }
  });

  it('GIVEN a revoked agent, a certificate from another CA, or none THEN no session opens', async () => {
    const token = await h.createToken({ usageLimit: 2 });
    const enrolled = await h.enrollAgent('revoked-node', token.token);
    const config = h.agentConfig(enrolled.configPath);
    const caPem = readFileSync(config.tls.caFile);
    const ownCredentials = () =>
      grpc.credentials.createSsl(caPem, readFileSync(config.tls.keyFile), readFileSync(config.tls.certFile));

    expect((await tryOpenSession(ownCredentials(), enrolled.agentId)).code).toBe(grpc.status.OK);

    const revoke = await h.api<{ revoked: boolean }>('DELETE', `/v1/agents/${enrolled.agentId}`);
    expect(revoke.status).toBe(200);
    expect(revoke.body.revoked).toBe(true);
    const revoked = await tryOpenSession(ownCredentials(), enrolled.agentId);
    expect(revoked.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(revoked.details).toMatch(/revoked/);

    const none = await tryOpenSession(grpc.credentials.createSsl(caPem), enrolled.agentId);
    expect(none.code).toBe(grpc.status.UNAUTHENTICATED);

    const foreignCa = await CertificateAuthority.load(await CertificateAuthority.create('foreign-ca'));
    const keys = await generateEcdsaKeyPair();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=x',
      keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const second = await h.enrollAgent('second-node', token.token);
    // The foreign certificate claims a real, enrolled agent id.
    const forged = await foreignCa.signAgentCsr(csr.toString('pem'), second.agentId);
    const foreign = await tryOpenSession(
      grpc.credentials.createSsl(caPem, Buffer.from(keys.privateKeyPem), Buffer.from(forged.certificatePem)),
      second.agentId,
    );
    expect(foreign.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('GIVEN an agent with a valid certificate WHEN its Hello names another agent THEN the session is refused', async () => {
    const token = await h.createToken({ usageLimit: 2 });
    const a = await h.enrollAgent('node-a', token.token);
    const b = await h.enrollAgent('node-b', token.token);
    const config = h.agentConfig(a.configPath);
    const credentials = grpc.credentials.createSsl(
      readFileSync(config.tls.caFile),
      readFileSync(config.tls.keyFile),
      readFileSync(config.tls.certFile),
    );
    const result = await tryOpenSession(credentials, b.agentId);
    expect(result.code).toBe(grpc.status.PERMISSION_DENIED);
  });

  it('GIVEN a running agent WHEN the coordinator stops and starts again THEN the agent reconnects and heartbeats resume', async () => {
    const token = await h.createToken();
    const enrolled = await h.enrollAgent('k8s-worker1', token.token);
    h.runAgent(h.agentConfig(enrolled.configPath), 'k8s-worker1');
    await waitFor('the first session', async () => (await listAgents())[0]?.connected || undefined);

    const port = h.coordinator.grpcPort;
    await h.coordinator.stop();
    const restartedAt = Date.now();
    await h.startCoordinator(port);
    // The session from before the restart is not shown as connected; the agent may already have opened a new one
    // (its Hello stamps the heartbeat time), which is.
    const afterStart = (await listAgents())[0];
    expect(afterStart).toBeDefined();
    if (afterStart?.connected) expect(Date.parse(afterStart.lastHeartbeatAt ?? '')).toBeGreaterThanOrEqual(restartedAt);

    const agent = await waitFor(
      'the agent to reconnect',
      async () => {
        const found = (await listAgents())[0];
        return found?.connected && found.lastHeartbeatAt && Date.parse(found.lastHeartbeatAt) >= restartedAt
          ? found
          : undefined;
      },
      20_000,
    );
    expect(agent.id).toBe(enrolled.agentId);
  });

  it('GIVEN the coordinator TLS port WHEN probed without ALPN THEN it still presents the CA needed for pinning', async () => {
    const chainLength = await new Promise<number>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', servername: 'localhost', port: h.coordinator.grpcPort, rejectUnauthorized: false },
        () => {
          let n = 0;
          for (let c = socket.getPeerCertificate(true); c?.raw && n < 5; c = c.issuerCertificate) {
            n++;
            if (c.issuerCertificate === c) break;
          }
          socket.end();
          resolve(n);
        },
      );
      socket.on('error', reject);
    });
    expect(chainLength).toBe(2);
  });
});
