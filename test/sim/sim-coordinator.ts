import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../common/logger.ts';
import { ApiClient } from '../../coordinator/cli/api-client.ts';
import { parseCoordinatorConfig } from '../../coordinator/config.ts';
import {
  type CoordinatorDeps,
  type RunningCoordinator,
  startCoordinator,
} from '../../coordinator/coordinator-service.ts';
import { waitFor } from '../support/wait-for.ts';

export interface RunView {
  id: string;
  state: string;
  error: string | null;
  steps: {
    id: string;
    kind: string;
    node: string;
    forNode: string | null;
    state: string;
    report?: string;
    attempt: number;
    dependsOn: string[];
    error: { code: string; message: string } | null;
  }[];
}

export interface SimCoordinator {
  coordinator: RunningCoordinator;
  api: ApiClient;
  grpcAddress: string;
  /** Every log line the coordinator wrote. */
  logs: string[];
  /** Every API reply body the tests read through `api`. */
  replies: string[];
  stop(): Promise<void>;
}

/** A coordinator in the test process on loopback ports, its logs captured, with an API client that records replies. */
export async function startSimCoordinator(
  options: Pick<CoordinatorDeps, 'schedulerNow' | 'scheduler'> & {
    /** An existing data directory (a restored one); a fresh temporary one otherwise. Removed by stop() either way. */
    dataDir?: string;
    /** 127.0.0.1:PORT for the gateway, so that agents of an earlier coordinator find this one. */
    grpcListen?: string;
  } = {},
): Promise<SimCoordinator> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'kubeha-sim-'));
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(String(chunk));
      callback();
    },
  });
  const config = parseCoordinatorConfig(
    {
      dataDir,
      logLevel: 'debug',
      grpc: { listen: options.grpcListen ?? '127.0.0.1:0', heartbeatTimeoutSeconds: 10 },
      api: { listen: '127.0.0.1:0' },
    },
    'sim',
  );
  const coordinator = await startCoordinator(config, {
    logger: createLogger({ name: 'sim-coordinator', level: 'debug', destination }),
    ...(options.schedulerNow ? { schedulerNow: options.schedulerNow } : {}),
    scheduler: { tickMs: 50, ...options.scheduler },
  });
  const replies: string[] = [];
  const api = new RecordingApiClient(coordinator.apiUrl, coordinator.adminToken, replies);
  return {
    coordinator,
    api,
    grpcAddress: `127.0.0.1:${coordinator.grpcPort}`,
    logs,
    replies,
    async stop() {
      await coordinator.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

class RecordingApiClient extends ApiClient {
  private readonly replies: string[];

  constructor(baseUrl: string, token: string, replies: string[]) {
    super(baseUrl, token);
    this.replies = replies;
  }

  override async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> {
    try {
      const reply = await super.request<T>(method, path, body, headers);
      this.replies.push(JSON.stringify(reply ?? null));
      return reply;
    } catch (error) {
      this.replies.push(JSON.stringify({ error: String(error), details: (error as { details?: unknown }).details }));
      throw error;
    }
  }
}

export async function waitForRunEnd(api: ApiClient, runId: string, timeoutMs = 60_000): Promise<RunView> {
  return waitFor(
    `run ${runId} to finish`,
    async () => {
      const run = await api.request<RunView>('GET', `/v1/runs/${runId}`);
      return ['succeeded', 'failed', 'cancelled'].includes(run.state) ? run : undefined;
    },
    timeoutMs,
    100,
  );
}
