// `npm run bench:agent [-- --seconds N] [-- --json] [-- --rpm FILE]`: the installed (bundled) agent at rest.
// Installs kubeha-agent's RPM into a scratch root (built from the working tree unless --rpm is given), starts a
// coordinator from the sources on loopback, creates a token, enrolls the installed agent, runs it, and measures its
// start-up time to the first heartbeat the coordinator records, then its resident memory and CPU over N seconds at rest.
// Targets: RSS <= 80 MB, CPU <= 0.5 %.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { freePort } from '../support/free-port.ts';
import { waitFor } from '../support/wait-for.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const targets = { rssMb: 80, cpuPercent: 0.5 };

interface AgentRow {
  id: string;
  connected: boolean;
  lastHeartbeatAt: string | null;
}

/** utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15, after the command's parentheses). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
}

/** VmRSS and its parts (anonymous memory; pages of the Node binary and other files), in MB. */
function memoryMb(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`no ${name} for process ${pid}`);
    return Number(match[1]) / 1024;
  };
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

/** The RPM given with --rpm, or one built now from the working tree, so the figures are those of the current code. */
function agentRpm(explicit: string | undefined, work: string, log: (line: string) => void): string {
  if (explicit) return explicit;
  log('building the agent RPM from the working tree (give --rpm FILE to measure another)');
  const out = join(work, 'rpms');
  execFileSync(
    process.execPath,
    [
      join(root, 'packaging/build/build-packages.ts'),
      '--out',
      out,
      '--only',
      'kubeha-agent',
      '--no-tarball',
      '--compression-level',
      '3',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return join(out, readdirSync(out).find((f) => f.endsWith('.rpm'))!);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      seconds: { type: 'string', default: '60' },
      json: { type: 'boolean', default: false },
      rpm: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('--seconds: a positive number');
  const log = (line: string) => {
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  const work = mkdtempSync(join(tmpdir(), 'kubeha-agent-bench-'));
  const children: ChildProcess[] = [];
  const cleanUp = async () => {
    for (const child of children.reverse()) await stopChild(child);
    rmSync(work, { recursive: true, force: true });
  };
  const interrupted = () => {
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const rpm = agentRpm(values.rpm, work, log);
    const scratch = join(work, 'root');
    execFileSync('rpm', ['--root', scratch, '--initdb']);
    execFileSync('rpm', ['--root', scratch, '--nodeps', '--noscripts', '-i', rpm], { stdio: 'ignore' });
    const agentBin = join(scratch, 'usr/bin/kubeha-agent');
    log(`installed ${rpm} into ${scratch}`);

    const grpcPort = await freePort();
    const apiPort = await freePort();
    const dataDir = join(work, 'coordinator');
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const coordinator = spawn(
      process.execPath,
      [
        join(root, 'coordinator/main.ts'),
        '--data-dir',
        dataDir,
        '--grpc-listen',
        `127.0.0.1:${grpcPort}`,
        '--api-listen',
        `127.0.0.1:${apiPort}`,
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(coordinator);
    await waitFor('the coordinator API', async () => (await fetch(`${apiUrl}/healthz`)).ok || undefined, 30_000);
    const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    const token = (await api('POST', '/v1/tokens', { usageLimit: 1, description: 'agent bench' })) as {
      token: string;
      caCertHash: string;
    };

    const configPath = join(scratch, 'etc/kubeha/agent.yaml');
    const stateDir = join(scratch, 'var/lib/kubeha');
    execFileSync(agentBin, [
      'enroll',
      '--coordinator',
      `localhost:${grpcPort}`,
      '--token',
      token.token,
      '--ca-cert-hash',
      token.caCertHash,
      '--config',
      configPath,
      '--state-dir',
      stateDir,
    ]);
    const config = parseYaml(readFileSync(configPath, 'utf8')) as Record<string, unknown> & { agentId: string };
    // Off the default 127.0.0.1:7445, which a real agent on this machine may hold.
    config['health'] = { listen: `127.0.0.1:${await freePort()}` };
    writeFileSync(configPath, stringifyYaml(config), { mode: 0o600 });
    log(`enrolled ${config.agentId}`);

    const startedAt = Date.now();
    const agent = spawn(agentBin, ['run', '--config', configPath], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(agent);
    const firstHeartbeatAt = await waitFor(
      'the first heartbeat of the installed agent',
      async () => {
        const { agents } = (await api('GET', '/v1/agents')) as { agents: AgentRow[] };
        const row = agents.find((a) => a.id === config.agentId);
        return row?.connected && row.lastHeartbeatAt ? Date.now() : undefined;
      },
      30_000,
      10,
    );
    const startupMs = firstHeartbeatAt - startedAt;
    log(`first heartbeat after ${startupMs} ms; measuring ${seconds} s at rest`);

    const pid = agent.pid!;
    const cpuBefore = cpuSeconds(pid);
    const wallBefore = performance.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const cpuPercent = ((cpuSeconds(pid) - cpuBefore) / ((performance.now() - wallBefore) / 1000)) * 100;
    const memory = memoryMb(pid);
    const { agents } = (await api('GET', '/v1/agents')) as { agents: AgentRow[] };
    if (!agents.find((a) => a.id === config.agentId)?.connected) throw new Error('the agent lost its session');

    const result = {
      startup_ms: startupMs,
      rss_mb: Math.round(memory.rss * 10) / 10,
      cpu_percent: Math.round(cpuPercent * 1000) / 1000,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      log(`start-up to first heartbeat: ${result.startup_ms} ms`);
      log(
        `RSS after ${seconds} s at rest: ${result.rss_mb} MB (target <= ${targets.rssMb} MB); ` +
          `anonymous ${memory.anon.toFixed(1)} MB, files ${memory.file.toFixed(1)} MB`,
      );
      log(`CPU over ${seconds} s at rest: ${result.cpu_percent} % (target <= ${targets.cpuPercent} %)`);
    }
    const missed = [
      ...(result.rss_mb > targets.rssMb ? [`RSS ${result.rss_mb} MB > ${targets.rssMb} MB`] : []),
      ...(result.cpu_percent > targets.cpuPercent ? [`CPU ${result.cpu_percent} % > ${targets.cpuPercent} %`] : []),
    ];
    if (missed.length > 0) {
      log(`target missed: ${missed.join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await cleanUp();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`agent-bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
