import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { formatHostPort } from '../../common/format-host-port.ts';
import { factsToProto, type NodeFacts } from '../../proto/convert.ts';
import type { EnrollResponse__Output } from '../../proto/generated/kubeha/v1/EnrollResponse.ts';
import { loadAgentGateway } from '../../proto/load-agent-gateway.ts';
import { writePrivateFile } from '../agent-files.ts';
import { renderAgentConfig } from '../config.ts';
import { newAgentKeyRequest } from './agent-key-request.ts';
import { fetchPinnedCa } from './fetch-pinned-ca.ts';

export interface EnrollOptions {
  coordinator: string;
  token: string;
  caCertHash: string;
  configPath: string;
  stateDir: string;
  agentVersion: string;
  facts: NodeFacts;
  timeoutMs?: number;
}

export interface EnrollResult {
  agentId: string;
  configPath: string;
}

const tokenPattern = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const hashPattern = /^sha256:[0-9a-fA-F]{64}$/;
const hostPortPattern = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

export function splitCoordinatorAddress(value: string): { host: string; port: number } {
  const match = hostPortPattern.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    throw new KubehaError(ErrorCode.badRequest, `--coordinator: expected HOST:PORT, got "${value}"`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Enrolls this node: pin the CA, then send token + CSR + facts, then store the credentials and agent.yaml. */
export async function enroll(options: EnrollOptions): Promise<EnrollResult> {
  if (!tokenPattern.test(options.token)) {
    throw new KubehaError(ErrorCode.badRequest, '--token: expected a bootstrap token like abcdef.0123456789abcdef');
  }
  if (!hashPattern.test(options.caCertHash)) {
    throw new KubehaError(ErrorCode.badRequest, '--ca-cert-hash: expected sha256: followed by 64 hex digits');
  }
  const { host, port } = splitCoordinatorAddress(options.coordinator);
  const caPem = await fetchPinnedCa(host, port, options.caCertHash, options.timeoutMs);

  const keys = await newAgentKeyRequest(options.facts.hostname || 'kubeha-agent');

  const proto = loadAgentGateway();
  const client = new proto.kubeha.v1.AgentGateway(
    formatHostPort(host, port),
    grpc.credentials.createSsl(Buffer.from(caPem)),
  );
  let response: EnrollResponse__Output;
  try {
    response = await new Promise<EnrollResponse__Output>((resolve, reject) => {
      client.Enroll(
        {
          token: options.token,
          csr_pem: keys.csrPem,
          facts: factsToProto(options.facts),
          agent_version: options.agentVersion,
        },
        { deadline: Date.now() + (options.timeoutMs ?? 15_000) },
        (error, reply) => (error || !reply ? reject(error) : resolve(reply)),
      );
    });
  } catch (cause) {
    const details = (cause as grpc.ServiceError).details ?? String(cause);
    throw new KubehaError(ErrorCode.tokenInvalid, `the coordinator refused the enrollment: ${details}`, { cause });
  } finally {
    client.close();
  }

  const tls = {
    caFile: join(options.stateDir, 'ca.crt'),
    certFile: join(options.stateDir, 'agent.crt'),
    keyFile: join(options.stateDir, 'agent.key'),
  };
  writePrivateFile(tls.keyFile, keys.privateKeyPem);
  writePrivateFile(tls.certFile, response.certificate_pem);
  writePrivateFile(tls.caFile, response.ca_pem || caPem);
  writePrivateFile(
    options.configPath,
    renderAgentConfig({
      agentId: response.agent_id,
      coordinator: options.coordinator,
      stateDir: options.stateDir,
      tls,
    }),
  );
  return { agentId: response.agent_id, configPath: options.configPath };
}
