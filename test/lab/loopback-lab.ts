// `npm run lab` until the network-namespace lab lands: a real coordinator and three real agents as separate
// processes on loopback. It creates a token, enrolls the agents, runs them, prints the registered agents with
// their facts, and removes everything it started.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '../support/free-port.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const agentCount = Number(process.env['KUBEHA_LAB_AGENTS'] ?? 3);
const work = mkdtempSync(join(tmpdir(), 'kubeha-lab-'));
const children: ChildProcess[] = [];

function start(name: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk}`));
  children.push(child);
  return child;
}

async function cleanup(): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  rmSync(work, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const grpcPort = await freePort();
  const apiPort = await freePort();
  const dataDir = join(work, 'coordinator');
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  console.log(
    `kubeha lab (loopback): coordinator on 127.0.0.1:${grpcPort} (gRPC) and ${apiUrl} (REST); ${agentCount} agents`,
  );
  start('coordinator', [
    'coordinator/main.ts',
    '--data-dir',
    dataDir,
    '--grpc-listen',
    `127.0.0.1:${grpcPort}`,
    '--api-listen',
    `127.0.0.1:${apiPort}`,
    '--log-level',
    'warn',
  ]);
  await waitFor('the coordinator API', async () => (await fetch(`${apiUrl}/healthz`)).ok || undefined);
  const adminToken = (await import('node:fs')).readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).then((r) => r.json());

  const created = (await api('POST', '/v1/tokens', { usageLimit: agentCount, description: 'lab' })) as {
    token: string;
    caCertHash: string;
  };
  console.log(`created a bootstrap token for ${agentCount} agents; CA ${created.caCertHash}`);
  for (let i = 1; i <= agentCount; i++) {
    const stateDir = join(work, `agent-${i}`);
    const enrolled = spawnSync(
      process.execPath,
      [
        'agent/main.ts',
        'enroll',
        '--coordinator',
        `localhost:${grpcPort}`,
        '--token',
        created.token,
        '--ca-cert-hash',
        created.caCertHash,
        '--config',
        join(stateDir, 'agent.yaml'),
        '--state-dir',
        stateDir,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    if (enrolled.status !== 0) throw new Error(`enrolling agent ${i} failed: ${enrolled.stderr}`);
    console.log(`agent ${i}: ${enrolled.stdout.split('\n')[0]}`);
    start(`agent-${i}`, ['agent/main.ts', 'run', '--config', join(stateDir, 'agent.yaml')]);
  }
  await waitFor(
    'every agent to connect',
    async () => {
      const { agents } = (await api('GET', '/v1/agents')) as { agents: { connected: boolean }[] };
      return agents.filter((a) => a.connected).length === agentCount || undefined;
    },
    30_000,
  );
  console.log('\nregistered agents:');
  const listed = spawnSync(
    process.execPath,
    ['coordinator/cli/main.ts', '--server', apiUrl, '--token', adminToken, 'get', 'agents'],
    { cwd: root, encoding: 'utf8' },
  );
  process.stdout.write(listed.stdout + listed.stderr);
}

process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
main()
  .then(cleanup, async (error: unknown) => {
    console.error(`lab failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    await cleanup();
  })
  .catch(() => {});
