// npm run bench:health [-- --json] [-- --rate 2000] [-- --seconds 6] [-- --node-flags '...']
// The agent's health endpoint in its own process (the real module, probing a stand-in apiserver over TLS every
// 250 ms, as on a control plane), asked GET /healthz/vrrp at a fixed rate over keep-alive connections from this
// process; beside it, in the same run, a bare node:http server answering a constant (the machine's floor), the two
// measured in alternating one-second slices so that the machine's noise falls on both. Then the check script keepalived
// runs every second, 50 times against the endpoint. Targets: p99 <= 2 ms at 2,000 req/s and within 1.5x of the floor;
// the check script <= 20 ms.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { bundleProgram } from '../../packaging/build/bundle-program.ts';
import { type StandInApiserver, startStandInApiserver } from '../netns/stand-in-apiserver.ts';
import { makeTestPki } from '../support/test-pki.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '6' },
    /** The endpoint's node flags instead of the agent wrapper's (e.g. --node-flags='' to see what they cost). */
    'node-flags': { type: 'string' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
if (!(rate > 0 && rate <= 20_000)) throw new Error('--rate: expected 1..20000 requests per second');
if (!(seconds > 0 && seconds <= 60)) throw new Error('--seconds: expected 1..60');

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const run = promisify(execFile);

interface RawClient {
  /** Resolves with the latency in ms from `dueAt` to the end of the response. */
  ask(dueAt: number): Promise<number>;
  close(): void;
}

async function rawClient(port: number, connections: number): Promise<RawClient> {
  const request = 'GET /healthz/vrrp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const idle: { socket: Socket; done?: () => void }[] = [];
  const all: Socket[] = [];
  const waiting: ((conn: { socket: Socket; done?: () => void }) => void)[] = [];
  for (let i = 0; i < connections; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const conn: { socket: Socket; done?: () => void } = { socket };
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const head = buffer.indexOf('\r\n\r\n');
      if (head < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, head))?.[1] ?? 0);
      if (buffer.length < head + 4 + length) return;
      buffer = buffer.slice(head + 4 + length);
      const done = conn.done;
      conn.done = undefined;
      done?.();
    });
    all.push(socket);
    idle.push(conn);
  }
  const release = (conn: { socket: Socket; done?: () => void }) => {
    const next = waiting.shift();
    if (next) next(conn);
    else idle.push(conn);
  };
  return {
    ask: (dueAt) =>
      new Promise<number>((resolve) => {
        const use = (conn: { socket: Socket; done?: () => void }) => {
          conn.done = () => {
            resolve(performance.now() - dueAt);
            release(conn);
          };
          conn.socket.write(request);
        };
        const conn = idle.pop();
        if (conn) use(conn);
        else waiting.push(use);
      }),
    close: () => {
      for (const socket of all) socket.destroy();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (x: number) => Math.round(x * 1000) / 1000;

/** The V8 flags packaging/wrappers/kubeha-agent runs the agent with, so the endpoint is measured as it runs. */
function agentWrapperFlags(): string[] {
  const wrapper = readFileSync(here('../../packaging/wrappers/kubeha-agent'), 'utf8');
  const exec = /^exec "\$prefix\/lib\/kubeha\/agent\/node"(.*?)\\?$/m.exec(wrapper);
  if (!exec) throw new Error('packaging/wrappers/kubeha-agent: no exec line of the agent runtime found');
  return exec[1]!
    .trim()
    .split(/\s+/)
    .filter((word) => word.startsWith('--'));
}

const dir = mkdtempSync(join(tmpdir(), `kha-${process.pid}-health-bench-`));
let apiserver: StandInApiserver | undefined;
const endpointFlags =
  values['node-flags'] === undefined ? agentWrapperFlags() : values['node-flags'].split(/\s+/).filter(Boolean);
// Bundled as the package bundles the agent, so it runs the same code as the installed agent.
const endpointBundle = join(dir, 'health-agent.mjs');
await bundleProgram({ entry: here('../netns/health-agent-main.ts'), outfile: endpointBundle, version: 'bench' });
const endpoint = spawn(
  process.execPath,
  [...endpointFlags, endpointBundle, '127.0.0.1:0', '250', join(dir, 'vrrp-status'), join(dir, 'state')],
  { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, MALLOC_ARENA_MAX: '2' } },
);
const floor = spawn(process.execPath, [here('./constant-http-server-main.ts'), '160'], {
  stdio: ['pipe', 'pipe', 'inherit'],
});

function listeningPort(child: { stdout: Readable }, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 10 s`)), 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
}

/** Asks at `rate` req/s for `ms`, open loop: latency counts from when each request was due, so queueing shows. */
async function openLoop(client: RawClient, ms: number, into: number[]): Promise<void> {
  const total = Math.round((rate * ms) / 1000);
  const begin = performance.now();
  const pending: Promise<void>[] = [];
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - begin) / 1000) * rate));
      while (sent < due) {
        const dueAt = begin + (sent / rate) * 1000;
        sent++;
        pending.push(client.ask(dueAt).then((latency) => void into.push(latency)));
      }
      if (sent >= total) resolve();
      else setImmediate(tick);
    };
    tick();
  });
  await Promise.all(pending);
}

function stats(latencies: number[], elapsedS: number) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requests: sorted.length,
    achieved_rps: Math.round(sorted.length / elapsedS),
    p50_ms: ms(percentile(sorted, 50)),
    p99_ms: ms(percentile(sorted, 99)),
    max_ms: ms(sorted.at(-1)!),
  };
}

try {
  const pki = await makeTestPki();
  apiserver = await startStandInApiserver({ certPem: pki.certPem, keyPem: pki.keyPem, port: 0, host: '127.0.0.1' });
  const [port, floorPort] = await Promise.all([
    listeningPort(endpoint, 'the health endpoint'),
    listeningPort(floor, 'the floor server'),
  ]);
  // Mode haproxy-keepalived with the stand-in apiserver as "HAProxy": the endpoint probes it over verified TLS every
  // 250 ms while it answers, as it does on a control plane.
  endpoint.stdin.write(
    `${JSON.stringify({ cluster: 'bench', initialized: true, initNode: false, endpointMode: 'haproxy-keepalived', lbPort: apiserver.port, vip: '10.213.0.10', clusterCaPem: pki.caPem })}\n`,
  );

  // A raw HTTP/1.1 client over a few keep-alive sockets: node:http's client costs more than the servers under test.
  const client = await rawClient(port, 8);
  const floorClient = await rawClient(floorPort, 8);
  for (let i = 0; i < 500; i++) {
    await client.ask(performance.now()); // warm-up
    await floorClient.ask(performance.now());
  }

  const endpointLatencies: number[] = [];
  const floorLatencies: number[] = [];
  const slices = Math.max(1, Math.round(seconds));
  const sliceMs = (seconds * 1000) / slices;
  let endpointS = 0;
  let floorS = 0;
  for (let i = 0; i < slices; i++) {
    // Alternate which goes first, so neither always follows the other's garbage.
    for (const target of i % 2 ? ['floor', 'endpoint'] : ['endpoint', 'floor']) {
      const started = performance.now();
      if (target === 'endpoint') await openLoop(client, sliceMs, endpointLatencies);
      else await openLoop(floorClient, sliceMs, floorLatencies);
      const took = (performance.now() - started) / 1000;
      if (target === 'endpoint') endpointS += took;
      else floorS += took;
    }
  }
  client.close();
  floorClient.close();
  const verdict = await (await fetch(`http://127.0.0.1:${port}/healthz/vrrp`)).json();

  const script = here('../../packaging/check-apiserver');
  const scriptTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const started = performance.now();
    await run(script, ['https://127.0.0.1:1/readyz', `http://127.0.0.1:${port}/healthz/vrrp`]).catch(() => undefined);
    scriptTimes.push(performance.now() - started);
  }
  scriptTimes.sort((a, b) => a - b);
  // What the script ran on this path before it used bash's /dev/tcp: sh and curl, one process each per call.
  const curlTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const started = performance.now();
    await run('sh', [
      '-c',
      `code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:${port}/healthz/vrrp); [ "$code" = 200 ]`,
    ]).catch(() => undefined);
    curlTimes.push(performance.now() - started);
  }
  curlTimes.sort((a, b) => a - b);

  const endpointStats = stats(endpointLatencies, endpointS);
  const floorStats = stats(floorLatencies, floorS);
  const result = {
    endpoint: endpointStats,
    floor: floorStats,
    p99_ratio: Math.round((endpointStats.p99_ms / floorStats.p99_ms) * 100) / 100,
    p50_ratio: Math.round((endpointStats.p50_ms / floorStats.p50_ms) * 100) / 100,
    endpoint_verdict_healthy: (verdict as { healthy: boolean }).healthy,
    endpoint_node_flags: endpointFlags,
    check_script: {
      runs: scriptTimes.length,
      median_ms: ms(percentile(scriptTimes, 50)),
      p99_ms: ms(percentile(scriptTimes, 99)),
      /** Of keepalived's 1 s interval. */
      median_share_of_interval_percent: Math.round(percentile(scriptTimes, 50) * 10) / 100,
      /** The same question through sh + curl, as the script asked it before, in the same run. */
      sh_curl_median_ms: ms(percentile(curlTimes, 50)),
      sh_curl_p99_ms: ms(percentile(curlTimes, 99)),
    },
    load_average_1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const e = result.endpoint;
    const f = result.floor;
    const c = result.check_script;
    process.stdout.write(
      [
        `GET /healthz/vrrp at ${rate} req/s over keep-alive, open loop, ${slices} alternating slices of ${Math.round(sliceMs)} ms each (load average ${result.load_average_1m}):`,
        `  kubeha endpoint (node ${endpointFlags.join(' ')}) ${e.requests} requests at ${e.achieved_rps} req/s: p50 ${e.p50_ms} ms, p99 ${e.p99_ms} ms, max ${e.max_ms} ms   (target p99 <= 2 ms; verdict healthy: ${result.endpoint_verdict_healthy})`,
        `  bare node:http (floor) ${f.requests} requests at ${f.achieved_rps} req/s: p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms, max ${f.max_ms} ms`,
        `  p99 ratio endpoint/floor: ${result.p99_ratio}x (target <= 1.5x); p50 ratio ${result.p50_ratio}x`,
        `check-apiserver (bash /dev/tcp to the endpoint, no process started), ${c.runs} runs: median ${c.median_ms} ms (${c.median_share_of_interval_percent} % of its 1 s interval), p99 ${c.p99_ms} ms   (target <= 20 ms)`,
        `  the same question through sh + curl (the script's way before): median ${c.sh_curl_median_ms} ms, p99 ${c.sh_curl_p99_ms} ms`,
        '',
      ].join('\n'),
    );
  }
} finally {
  // Wait for it: a stopping endpoint still writes its track file into `dir`.
  const exited = new Promise((resolve) => endpoint.once('exit', resolve));
  endpoint.kill('SIGTERM');
  floor.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  await apiserver?.close();
  rmSync(dir, { recursive: true, force: true });
}
