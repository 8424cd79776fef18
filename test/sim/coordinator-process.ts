import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../coordinator/cli/api-client.ts';
import type { Cleanup } from '../support/cleanups.ts';
import { freePort } from '../support/free-port.ts';
import { waitFor } from '../support/wait-for.ts';
import type { SimAgent, SimExecution, SimScript } from './sim-agent.ts';
import type { RunView } from './sim-coordinator.ts';
import { createEnrollToken, enrollSimAgents, type SimNode, simClusterSpec } from './sim-fleet.ts';

type SimClusterSpec = ReturnType<typeof simClusterSpec>['spec'];

const mainPath = join(import.meta.dirname, '..', '..', 'coordinator', 'main.ts');

export interface CoordinatorProcess {
  child: ChildProcess;
  api: ApiClient;
  caPem: string;
  /** Its stdout and stderr (the JSON log lines). */
  output: string[];
  exited: Promise<number | null>;
  /** What it was started with, to start it again over the same data directory and ports. */
  options: CoordinatorProcessOptions;
}

export interface CoordinatorProcessOptions {
  dataDir: string;
  grpcPort: number;
  apiPort: number;
  logLevel?: string;
  output?: string[];
  /** Extra node flags, e.g. --cpu-prof for a profile of the coordinator. */
  nodeArgs?: string[];
}

/** `node coordinator/main.ts` as a child on loopback ports, ready once its API answers. */
export async function startCoordinatorProcess(options: CoordinatorProcessOptions): Promise<CoordinatorProcess> {
  const output = options.output ?? [];
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      mainPath,
      '--data-dir',
      options.dataDir,
      '--grpc-listen',
      `127.0.0.1:${options.grpcPort}`,
      '--api-listen',
      `127.0.0.1:${options.apiPort}`,
      '--log-level',
      options.logLevel ?? 'info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk: Buffer) => output.push(String(chunk)));
  child.stderr!.on('data', (chunk: Buffer) => output.push(String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const token = await waitFor(
    'the coordinator to write its admin token',
    () => {
      if (gone) throw new Error(`the coordinator exited: ${output.join('')}`);
      try {
        return readFileSync(join(options.dataDir, 'admin-token'), 'utf8').trim() || undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
    50,
  );
  const api = new ApiClient(`http://127.0.0.1:${options.apiPort}`, token);
  await waitFor(
    'the coordinator API',
    async () => {
      if (gone) throw new Error(`the coordinator exited: ${output.join('')}`);
      return (await api.request('GET', '/healthz')) !== undefined;
    },
    30_000,
    50,
  );
  const caPem = readFileSync(join(options.dataDir, 'ca.crt'), 'utf8');
  const started = { child, api, caPem, output, exited, options: { ...options, output } };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

const running = new Set<CoordinatorProcess>();

/**
 * A coordinator process over a fresh data directory on free ports. Pushes on `cleanups` the SIGKILL of every
 * coordinator process started over that directory (restarts included), then its removal.
 */
export async function startCoordinatorInTempDir(options: {
  prefix: string;
  cleanups: Cleanup[];
  output?: string[];
}): Promise<CoordinatorProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), options.prefix));
  options.cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const ports = { grpcPort: await freePort(), apiPort: await freePort() };
  options.cleanups.push(() => {
    for (const coordinator of running) if (coordinator.options.dataDir === dataDir) coordinator.child.kill('SIGKILL');
  });
  return startCoordinatorProcess({ dataDir, ...ports, ...(options.output ? { output: options.output } : {}) });
}

/** SIGKILLs the coordinator and starts a new one over the same data directory and ports, as a crash and restart. */
export async function crashAndRestart(coordinator: CoordinatorProcess): Promise<CoordinatorProcess> {
  coordinator.child.kill('SIGKILL');
  await coordinator.exited;
  return startCoordinatorProcess(coordinator.options);
}

/** Enrolls a simulated agent for each node with the coordinator process, each approved through its API. */
export async function enrollWithCoordinatorProcess(
  coordinator: CoordinatorProcess,
  options: {
    nodes: SimNode[];
    executions: SimExecution[];
    script: SimScript;
    heartbeatMs?: number;
    parallel?: number;
  },
): Promise<SimAgent[]> {
  const { token } = await createEnrollToken(coordinator.api, options.nodes.length);
  return enrollSimAgents({
    coordinator: `127.0.0.1:${coordinator.options.grpcPort}`,
    caPem: coordinator.caPem,
    token,
    approveWith: coordinator.api,
    ...options,
  });
}

/**
 * A coordinator process over a fresh data directory, and a simulated agent for each node of a cluster of
 * `controlPlanes` and `workers`, enrolled, started and connected; the agents are stopped after the test.
 */
export async function startCoordinatorProcessWithFleet(options: {
  prefix: string;
  cleanups: Cleanup[];
  output?: string[];
  name: string;
  controlPlanes: number;
  workers: number;
  script: SimScript;
}): Promise<{ coordinator: CoordinatorProcess; spec: SimClusterSpec; executions: SimExecution[]; agents: SimAgent[] }> {
  const { prefix, cleanups, output } = options;
  const coordinator = await startCoordinatorInTempDir({ prefix, cleanups, ...(output ? { output } : {}) });
  const { spec, nodes } = simClusterSpec(options);
  const executions: SimExecution[] = [];
  const agents = await enrollWithCoordinatorProcess(coordinator, { nodes, executions, script: options.script });
  cleanups.push(() => Promise.all(agents.map((a) => a.stop())).then(() => undefined));
  for (const a of agents) a.start();
  await waitFor('every agent connected', () => agents.every((a) => a.connected));
  return { coordinator, spec, executions, agents };
}

/** Once the run has got as far as `reached` says (asked every 10 ms, 60 s at the most), crashes and restarts. */
export async function crashWhenRunReaches(
  coordinator: CoordinatorProcess,
  runId: string,
  what: string,
  reached: (run: RunView) => boolean,
): Promise<CoordinatorProcess> {
  await waitFor(
    what,
    async () => reached(await coordinator.api.request<RunView>('GET', `/v1/runs/${runId}`)),
    60_000,
    10,
  );
  return crashAndRestart(coordinator);
}
