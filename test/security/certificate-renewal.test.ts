import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunningAgent } from '../../agent/agent-service.ts';
import type { AgentConfig } from '../../agent/config.ts';
import { newAgentKeyRequest } from '../../agent/enrollment/agent-key-request.ts';
import type { RenewalStage } from '../../agent/session/certificate-renewal.ts';
import { normaliseSerial } from '../../coordinator/gateway/peer-identity.ts';
import type { CoordinatorMessage__Output } from '../../proto/generated/kubeha/v1/CoordinatorMessage.ts';
import { loadAgentGateway } from '../../proto/load-agent-gateway.ts';
import { FoundationHarness } from '../support/foundation-harness.ts';
import { waitFor } from '../support/wait-for.ts';

const hour = 3_600_000;
let h: FoundationHarness;

beforeEach(async () => {
  h = new FoundationHarness();
  // One-day certificates: an agent whose clock runs 17 h ahead finds less than a third of its certificate left.
  await h.startCoordinator(0, { agentCertificateDays: 1 });
});

afterEach(async () => {
  await h.close();
});

async function enrolledConfig(name: string): Promise<Readonly<AgentConfig>> {
  const token = await h.createToken();
  const enrolled = await h.enrollAgent(name, token.token);
  return h.agentConfig(enrolled.configPath);
}

function serialOf(certificateFile: string): string {
  return normaliseSerial(new X509Certificate(readFileSync(certificateFile)).serialNumber);
}

function credentials(config: Readonly<AgentConfig>, cert: Buffer, key: Buffer): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(config.tls.caFile), key, cert);
}

/** Opens a session with these credentials; with `csrPem`, asks for a renewal on it and returns the answer. */
function openSession(
  creds: grpc.ChannelCredentials,
  agentId: string,
  csrPem?: string,
  beforeRenewal?: () => void,
): Promise<{ code: number; details: string; renewal?: { certificate_pem: string; refused: string } }> {
  const proto = loadAgentGateway();
  const client = new proto.kubeha.v1.AgentGateway(`127.0.0.1:${h.coordinator.grpcPort}`, creds);
  return new Promise((resolve) => {
    const stream = client.Session();
    const finish = (result: Awaited<ReturnType<typeof openSession>>) => {
      stream.end();
      client.close();
      resolve(result);
    };
    stream.on('metadata', () => {
      if (!csrPem) finish({ code: grpc.status.OK, details: 'session accepted' });
      else {
        beforeRenewal?.();
        stream.write({ renew_certificate: { csr_pem: csrPem } });
      }
    });
    stream.on('data', (m: CoordinatorMessage__Output) => {
      if (m.certificate_renewal) finish({ code: grpc.status.OK, details: 'answered', renewal: m.certificate_renewal });
    });
    stream.on('error', (error: grpc.ServiceError) => {
      client.close();
      resolve({ code: error.code, details: error.details });
    });
    stream.write({ hello: { agent_id: agentId, agent_version: 'x', facts: null, unacknowledged: [], running: [] } });
  });
}

function runAhead(
  config: Readonly<AgentConfig>,
  name: string,
  onRenewalStage?: (stage: RenewalStage) => void,
): RunningAgent {
  return h.runAgent(config, name, {
    now: () => Date.now() + 17 * hour,
    certificateCheckIntervalMs: hour,
    ...(onRenewalStage ? { onRenewalStage } : {}),
  });
}

describe('agent client-certificate renewal over the session', () => {
  it('GIVEN a certificate with less than a third of its life left WHEN the agent connects THEN it renews once, reconnects with the new certificate and the old one opens no session', async () => {
    const config = await enrolledConfig('renew-node');
    const oldCert = readFileSync(config.tls.certFile);
    const oldKey = readFileSync(config.tls.keyFile);
    const oldSerial = serialOf(config.tls.certFile);

    runAhead(config, 'renew-node');
    const newSerial = await waitFor('the agent to switch to a renewed certificate', () => {
      const stored = h.coordinator.store.agents.get(config.agentId);
      // Serials are compared normalised: a stored serial may carry a leading zero that the peer certificate drops.
      return stored?.connected && normaliseSerial(stored.certificateSerial) !== oldSerial
        ? stored.certificateSerial
        : undefined;
    });
    expect(normaliseSerial(newSerial)).toBe(serialOf(config.tls.certFile));
    expect(h.coordinator.store.agents.get(config.agentId)?.pendingCertificateSerial).toBeNull();
    for (const file of [config.tls.certFile, config.tls.keyFile]) {
      expect(statSync(file).mode & 0o777, file).toBe(0o600);
      expect(existsSync(`${file}.next`), `${file}.next`).toBe(false);
    }
    const renewed = new X509Certificate(readFileSync(config.tls.certFile));
    expect(renewed.subject).toContain(`CN=${config.agentId}`);
    const { body } = await h.api<{ agents: { id: string; certificateExpiresAt: string | null }[] }>(
      'GET',
      '/v1/agents',
    );
    expect(body.agents.find((a) => a.id === config.agentId)?.certificateExpiresAt).toBe(
      new Date(renewed.validTo).toISOString(),
    );
    const withOld = await openSession(credentials(config, oldCert, oldKey), config.agentId);
    expect(withOld.code).toBe(grpc.status.PERMISSION_DENIED);
    const withNew = await openSession(
      credentials(config, readFileSync(config.tls.certFile), readFileSync(config.tls.keyFile)),
      config.agentId,
    );
    expect(withNew.code).toBe(grpc.status.OK);
    // The new certificate is due too by the agent's clock, but one request per interval is all it sends.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(h.logLines.filter((l) => l.includes('asked the coordinator for a new one'))).toHaveLength(1);
    const all = h.logLines.join('\n');
    expect(all).toContain('client certificate renewed; reconnecting with it');
    expect(all).not.toMatch(/PRIVATE KEY|CERTIFICATE REQUEST/);
  });

  it('GIVEN the agent dies after writing the new files and before reconnecting WHEN it starts again THEN it finishes the switch and the new certificate opens its session', async () => {
    const config = await enrolledConfig('crash-written');
    const oldSerial = serialOf(config.tls.certFile);
    const first = runAhead(config, 'crash-written', (stage) => {
      if (stage === 'written') throw new Error('simulated crash after writing the new credentials');
    });
    await waitFor('the new credentials beside the old ones', () => existsSync(`${config.tls.certFile}.next`));
    await first.stop();
    expect(serialOf(config.tls.certFile)).toBe(oldSerial);
    const pending = h.coordinator.store.agents.get(config.agentId)?.pendingCertificateSerial;
    expect(pending).toBeTruthy();

    h.runAgent(config, 'crash-written');
    await waitFor('a session with the renewed certificate', () => {
      const stored = h.coordinator.store.agents.get(config.agentId);
      return stored?.connected && normaliseSerial(stored.certificateSerial) === normaliseSerial(pending!);
    });
    expect(serialOf(config.tls.certFile)).toBe(normaliseSerial(pending!));
    expect(existsSync(`${config.tls.certFile}.next`)).toBe(false);
  });

  it('GIVEN the coordinator signed but the agent died before writing anything WHEN it starts again THEN the old certificate still opens a session and the next renewal succeeds', async () => {
    const config = await enrolledConfig('crash-received');
    const oldSerial = serialOf(config.tls.certFile);
    const first = runAhead(config, 'crash-received', (stage) => {
      if (stage === 'received') throw new Error('simulated crash before writing the new credentials');
    });
    await waitFor('a signed renewal', () => h.coordinator.store.agents.get(config.agentId)?.pendingCertificateSerial);
    await first.stop();
    expect(serialOf(config.tls.certFile)).toBe(oldSerial);

    runAhead(config, 'crash-received');
    const switched = await waitFor('the second renewal to be used', () => {
      const stored = h.coordinator.store.agents.get(config.agentId);
      return stored?.connected && normaliseSerial(stored.certificateSerial) !== oldSerial ? stored : undefined;
    });
    expect(normaliseSerial(switched.certificateSerial)).toBe(serialOf(config.tls.certFile));
  });

  it('GIVEN a session WHEN it asks for a certificate with a CSR naming another agent THEN the certificate is for the session’s own agent; once revoked, it is refused', async () => {
    const config = await enrolledConfig('csr-node');
    const other = await enrolledConfig('other-node');
    const creds = credentials(config, readFileSync(config.tls.certFile), readFileSync(config.tls.keyFile));
    const request = await newAgentKeyRequest(other.agentId);

    const answered = await openSession(creds, config.agentId, request.csrPem);
    expect(answered.renewal?.refused).toBe('');
    const issued = new X509Certificate(answered.renewal!.certificate_pem);
    expect(issued.subject).toContain(`CN=${config.agentId}`);
    expect(issued.subject).not.toContain(other.agentId);
    expect(h.coordinator.store.agents.get(other.agentId)?.pendingCertificateSerial).toBeNull();

    // Revoked after its session opened (the store says so before the gateway ends the session): no certificate.
    const refused = await openSession(creds, config.agentId, request.csrPem, () =>
      h.coordinator.store.agents.update(config.agentId, { revokedAt: Date.now() }),
    );
    expect(refused.renewal).toEqual({ certificate_pem: '', refused: 'the agent is revoked or unknown' });
    expect(normaliseSerial(h.coordinator.store.agents.get(config.agentId)?.pendingCertificateSerial ?? '')).toBe(
      normaliseSerial(issued.serialNumber),
    );
    const reopened = await openSession(creds, config.agentId);
    expect(reopened.code).toBe(grpc.status.PERMISSION_DENIED);
  });
});
