import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTextFile } from '../../agent/agent-files.ts';
import { type RunningAgent, startAgent } from '../../agent/agent-service.ts';
import { type AgentConfig, parseAgentConfig } from '../../agent/config.ts';
import { enroll } from '../../agent/enrollment/enroll.ts';
import { parseCoordinatorConfig } from '../../coordinator/config.ts';
import { type RunningCoordinator, startCoordinator } from '../../coordinator/coordinator-service.ts';
import type { NodeFacts } from '../../proto/convert.ts';
import { capturedLogger } from './captured-logs.ts';

export function sampleFacts(hostname: string, address = '10.0.0.10/24'): NodeFacts {
  return {
    hostname,
    osId: 'rocky',
    osVersionId: '9.4',
    osPrettyName: 'Rocky Linux 9.4 (Blue Onyx)',
    kernel: '5.14.0-427.el9.x86_64',
    arch: 'x64',
    cpuCount: 2,
    memoryBytes: 4 * 1024 ** 3,
    swapBytes: 0,
    interfaces: [{ name: 'eth0', mac: '52:54:00:12:34:56', addresses: [address], virtual: false }],
    productUuid: '4c4c4544-0042-3510-8052-b4c04f565231',
    machineId: '3d1219c7c4c5404aaa1f6d2a48adfda4',
    defaultRouteInterface: 'eth0',
    cgroupVersion: 2,
  };
}

/** A coordinator on 127.0.0.1 (ephemeral or given ports) with its logs captured, in a temp data dir. */
export class FoundationHarness {
  readonly work = mkdtempSync(join(tmpdir(), 'kubeha-test-'));
  readonly dataDir = join(this.work, 'coordinator');
  readonly logLines: string[] = [];
  coordinator!: RunningCoordinator;
  private readonly agents: RunningAgent[] = [];
  now: () => number = Date.now;

  async startCoordinator(grpcPort = 0, grpcSettings: Record<string, unknown> = {}): Promise<RunningCoordinator> {
    const { logger } = capturedLogger('kubeha-coordinator', this.logLines);
    const config = parseCoordinatorConfig(
      {
        dataDir: this.dataDir,
        grpc: {
          listen: `127.0.0.1:${grpcPort}`,
          serverSans: ['localhost', '127.0.0.1'],
          heartbeatTimeoutSeconds: 5,
          ...grpcSettings,
        },
        api: { listen: '127.0.0.1:0' },
        logLevel: 'debug',
      },
      'test',
    );
    this.coordinator = await startCoordinator(config, { logger, now: () => this.now() });
    return this.coordinator;
  }

  async api<T = unknown>(method: string, url: string, body?: unknown, token = this.coordinator.adminToken) {
    const response = await this.coordinator.api.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return {
      status: response.statusCode,
      body: (response.body ? response.json() : undefined) as T,
      raw: response.body,
    };
  }

  async createToken(body: Record<string, unknown> = {}): Promise<{ id: string; token: string; caCertHash: string }> {
    const { status, body: created } = await this.api<{ id: string; token: string; caCertHash: string }>(
      'POST',
      '/v1/tokens',
      body,
    );
    if (status !== 201) throw new Error(`token create failed: ${status}`);
    return created;
  }

  async enrollAgent(name: string, token: string, caCertHash = this.coordinator.caCertHash) {
    const stateDir = join(this.work, name);
    const configPath = join(stateDir, 'agent.yaml');
    const result = await enroll({
      coordinator: `127.0.0.1:${this.coordinator.grpcPort}`,
      token,
      caCertHash,
      configPath,
      stateDir,
      agentVersion: '0.0.0-test',
      facts: sampleFacts(name),
      timeoutMs: 5_000,
    });
    return { ...result, stateDir, configPath };
  }

  agentConfig(configPath: string, overrides: Record<string, unknown> = {}): Readonly<AgentConfig> {
    const base = parseAgentConfig(readTextFile(configPath), configPath);
    return parseAgentConfig(
      JSON.stringify({
        ...base,
        heartbeatIntervalSeconds: 0.2,
        reconnect: { minSeconds: 0.05, maxSeconds: 0.5 },
        ...overrides,
      }),
      configPath,
    );
  }

  runAgent(
    config: Readonly<AgentConfig>,
    name: string,
    extra: Omit<Parameters<typeof startAgent>[1], 'logger' | 'version' | 'facts'> = {},
  ): RunningAgent {
    const { logger } = capturedLogger(`kubeha-agent-${name}`, this.logLines);
    const agent = startAgent(config, { logger, version: '0.0.0-test', facts: async () => sampleFacts(name), ...extra });
    this.agents.push(agent);
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.stop()));
    await this.coordinator?.stop().catch(() => {});
    rmSync(this.work, { recursive: true, force: true });
  }
}
