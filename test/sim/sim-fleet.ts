import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { generateEcdsaKeyPair, x509 } from '../../common/x509.ts';
import type { ApiClient } from '../../coordinator/cli/api-client.ts';
import { factsToProto, type NodeFacts } from '../../proto/convert.ts';
import type { EnrollResponse__Output } from '../../proto/generated/kubeha/v1/EnrollResponse.ts';
import { loadAgentGateway } from '../../proto/load-agent-gateway.ts';
import { SimAgent, type SimBehaviour, type SimExecution, type SimScript, type SimStep } from './sim-agent.ts';

export interface SimNode {
  name: string;
  address: string;
  role: 'control-plane' | 'worker';
}

export const simInterface = 'eth0';

/** A cluster spec (as the API takes it) of control planes and workers on 10.10.0.0/16, VIP 10.10.255.100. */
export function simClusterSpec(options: {
  name: string;
  controlPlanes: number;
  workers: number;
  concurrency?: number;
}) {
  const nodes: SimNode[] = [];
  for (let i = 0; i < options.controlPlanes; i++) {
    nodes.push({ name: `cp${i + 1}`, address: `10.10.0.${11 + i}`, role: 'control-plane' });
  }
  for (let i = 0; i < options.workers; i++) {
    nodes.push({ name: `w${i + 1}`, address: `10.10.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`, role: 'worker' });
  }
  const spec = {
    apiVersion: 'kubeha.io/v1',
    kind: 'Cluster',
    metadata: { name: options.name },
    spec: {
      kubernetesVersion: '1.34.4',
      endpoint: {
        mode: 'haproxy-keepalived',
        vip: '10.10.255.100',
        port: 16443,
        interface: simInterface,
        virtualRouterId: 51,
      },
      networking: { podCIDR: '10.128.0.0/12', serviceCIDR: '10.96.0.0/12', cni: 'flannel' },
      hostPolicy: { firewall: 'managed', selinux: 'permissive', allowErasing: false },
      concurrency: { workers: options.concurrency ?? 10 },
      nodes: nodes.map((n) => ({ name: n.name, address: `${n.address}/16`, role: n.role })),
    },
  };
  return { spec, nodes };
}

function hex(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

export function simFacts(node: SimNode): NodeFacts {
  const h = hex(node.name, 12);
  return {
    hostname: node.name,
    osId: 'rocky',
    osVersionId: '9.4',
    osPrettyName: 'Rocky Linux 9.4 (sim)',
    kernel: '5.14.0',
    arch: 'x86_64',
    cpuCount: 4,
    memoryBytes: 8 * 1024 ** 3,
    swapBytes: 0,
    interfaces: [
      {
        name: simInterface,
        mac: `00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}:${h.slice(8, 10)}`,
        addresses: [`${node.address}/16`],
        virtual: false,
      },
    ],
    productUuid: `${hex(`uuid${node.name}`, 8)}-0000-4000-8000-${hex(`p${node.name}`, 12)}`,
    machineId: hex(`machine${node.name}`, 32),
    defaultRouteInterface: simInterface,
    cgroupVersion: 2,
  };
}

/** The admin kubeconfig a simulated kubeadm-init reports: its server is the sim spec's endpoint. */
export const simKubeconfig =
  'apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.10.255.100:16443\n  name: sim\n';

/** Delays per step kind (ms) and the outputs real steps report: the CA hash and the admin kubeconfig from init. */
export function simScript(
  delays: Partial<Record<string, number>> = {},
  override?: (step: SimStep) => Partial<SimBehaviour> | undefined,
): SimScript {
  return (step) => {
    const outputs: Record<string, string> =
      step.kind === 'kubeadm-init' ? { caCertHash: `sha256:${hex('sim-ca', 64)}`, kubeconfig: simKubeconfig } : {};
    return { delayMs: delays[step.kind] ?? delays['default'] ?? 20, outputs, ...override?.(step) };
  };
}

/** Enrolls one simulated agent per node through the real Enroll RPC (one key pair, one CSR per agent). */
export async function enrollSimAgents(options: {
  coordinator: string;
  caPem: string;
  token: string;
  nodes: SimNode[];
  script: SimScript;
  executions: SimExecution[];
  heartbeatMs?: number;
  parallel?: number;
  /** Approves each enrolled agent for its node through this API (what an operator does with `kubeha agents approve`). */
  approveWith?: ApiClient;
}): Promise<SimAgent[]> {
  const keys = await generateEcdsaKeyPair();
  const proto = loadAgentGateway();
  const client = new proto.kubeha.v1.AgentGateway(
    options.coordinator,
    grpc.credentials.createSsl(Buffer.from(options.caPem)),
  );
  const agents: SimAgent[] = new Array(options.nodes.length);
  let next = 0;
  const worker = async () => {
    while (next < options.nodes.length) {
      const index = next++;
      const node = options.nodes[index]!;
      const facts = simFacts(node);
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: `CN=${node.name}`,
        keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      });
      const reply = await new Promise<EnrollResponse__Output>((resolve, reject) =>
        client.Enroll(
          { token: options.token, csr_pem: csr.toString('pem'), facts: factsToProto(facts), agent_version: 'sim' },
          { deadline: Date.now() + 60_000 },
          (error, response) => (error || !response ? reject(error) : resolve(response)),
        ),
      );
      if (options.approveWith) {
        await options.approveWith.request('POST', `/v1/agents/${reply.agent_id}/approve`, { node: node.name });
      }
      agents[index] = new SimAgent({
        node: node.name,
        agentId: reply.agent_id,
        coordinator: options.coordinator,
        caPem: options.caPem,
        certPem: reply.certificate_pem,
        keyPem: keys.privateKeyPem,
        facts,
        script: options.script,
        executions: options.executions,
        ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.parallel ?? 16, options.nodes.length) }, worker));
  } finally {
    client.close();
  }
  return agents;
}

/** A bootstrap token good for `count` enrollments, through the REST API. */
export async function createEnrollToken(api: ApiClient, count: number): Promise<{ token: string; caCertHash: string }> {
  return api.request('POST', '/v1/tokens', { usageLimit: Math.max(1, count), ttlSeconds: 3600 });
}

/** Where simulated agents reach an in-process coordinator, and its API. */
type SimCoordinatorAddress = { api: ApiClient; grpcAddress: string; coordinator: { caCertificatePem: string } };

/** A cluster of simulated agents enrolled with a fresh token and started: the usual start of a scheduler test. */
export async function startSimFleet(
  sim: SimCoordinatorAddress,
  options: { name: string; controlPlanes: number; workers: number; script: SimScript; heartbeatMs?: number },
): Promise<{
  spec: ReturnType<typeof simClusterSpec>['spec'];
  nodes: SimNode[];
  executions: SimExecution[];
  agents: SimAgent[];
}> {
  const { spec, nodes } = simClusterSpec({
    name: options.name,
    controlPlanes: options.controlPlanes,
    workers: options.workers,
  });
  const executions: SimExecution[] = [];
  const agents = await enrollWithSimCoordinator(sim, {
    nodes,
    executions,
    script: options.script,
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
  });
  for (const a of agents) a.start();
  return { spec, nodes, executions, agents };
}

/** Enrolls a simulated agent for each node with a fresh token, each approved through the coordinator's API. */
export async function enrollWithSimCoordinator(
  sim: SimCoordinatorAddress,
  options: { nodes: SimNode[]; executions: SimExecution[]; script: SimScript; heartbeatMs?: number },
): Promise<SimAgent[]> {
  const { token } = await createEnrollToken(sim.api, options.nodes.length);
  return enrollSimAgents({
    coordinator: sim.grpcAddress,
    caPem: sim.coordinator.caCertificatePem,
    token,
    approveWith: sim.api,
    ...options,
  });
}

/**
 * Ends what a test started of the simulated fleet, also after a failure: the agents first, so that none reconnects
 * to a coordinator that is stopping, then the coordinators. Empties `agents`.
 */
export async function stopSimFleet(
  agents: SimAgent[],
  ...coordinators: ({ stop(): Promise<void> } | undefined)[]
): Promise<void> {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  for (const coordinator of coordinators) await coordinator?.stop();
}
