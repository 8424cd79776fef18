// npm run bench:health [-- --json] [-- --rate 2000] [-- --seconds 5]
// The agent's health endpoint in its own process (the real module, probing a stand-in apiserver every 500 ms),
// asked GET /healthz/vrrp at a fixed rate over keep-alive connections from this process; then the check script
// run 50 times against it. Targets: p99 <= 2 ms at 2,000 req/s; the check script <= 20 ms.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { type StandInApiserver, startStandInApiserver } from '../netns/stand-in-apiserver.ts';
import { makeTestPki } from '../support/test-pki.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '5' },
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

const dir = mkdtempSync(join(tmpdir(), `kha-${process.pid}-health-bench-`));
let apiserver: StandInApiserver | undefined;
const endpoint = spawn(
  process.execPath,
  [here('../netns/health-agent-main.ts'), '127.0.0.1:0', '500', join(dir, 'vrrp-status'), join(dir, 'state')],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
try {
  const pki = await makeTestPki();
  apiserver = await startStandInApiserver({ certPem: pki.certPem, keyPem: pki.keyPem, port: 0, host: '127.0.0.1' });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the health endpoint did not start within 10 s')), 10_000);
    endpoint.stdout.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
  });
  // Mode keepalived probes https://127.0.0.1:6443 — our stand-in listens elsewhere, so the verdict is "not ready";
  // the endpoint's cost does not depend on the verdict, only on answering from the cache.
  endpoint.stdin.write(
    `${JSON.stringify({ cluster: 'bench', initialized: true, initNode: false, endpointMode: 'keepalived', lbPort: 16443, vip: '10.213.0.10', clusterCaPem: pki.caPem })}\n`,
  );

  // A raw HTTP/1.1 client over a few keep-alive sockets: node:http's client costs more than the server under test.
  const client = await rawClient(port, 8);
  for (let i = 0; i < 200; i++) await client.ask(performance.now()); // warm-up

  const latencies: number[] = [];
  const total = Math.round(rate * seconds);
  const begin = performance.now();
  const pending: Promise<void>[] = [];
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - begin) / 1000) * rate));
      while (sent < due) {
        // Open loop: latency counts from when the request was due, so queueing shows.
        const dueAt = begin + (sent / rate) * 1000;
        sent++;
        pending.push(client.ask(dueAt).then((latency) => void latencies.push(latency)));
      }
      if (sent >= total) resolve();
      else setImmediate(tick);
    };
    tick();
  });
  await Promise.all(pending);
  const elapsed = (performance.now() - begin) / 1000;
  client.close();
  latencies.sort((a, b) => a - b);

  const script = here('../../packaging/check-apiserver');
  const scriptTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const started = performance.now();
    await run(script, ['https://127.0.0.1:1/readyz', `http://127.0.0.1:${port}/healthz/vrrp`]).catch(() => undefined);
    scriptTimes.push(performance.now() - started);
  }
  scriptTimes.sort((a, b) => a - b);

  const result = {
    endpoint: {
      requests: latencies.length,
      achieved_rps: Math.round(latencies.length / elapsed),
      p50_ms: ms(percentile(latencies, 50)),
      p99_ms: ms(percentile(latencies, 99)),
      max_ms: ms(latencies.at(-1)!),
    },
    check_script: {
      runs: scriptTimes.length,
      median_ms: ms(percentile(scriptTimes, 50)),
      p99_ms: ms(percentile(scriptTimes, 99)),
    },
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const e = result.endpoint;
    const c = result.check_script;
    process.stdout.write(
      [
        `health endpoint GET /healthz/vrrp, ${e.requests} requests at ${e.achieved_rps} req/s (asked ${rate}) over keep-alive:`,
        `  p50 ${e.p50_ms} ms, p99 ${e.p99_ms} ms, max ${e.max_ms} ms   (target p99 <= 2 ms)`,
        `check-apiserver (curl to the endpoint), ${c.runs} runs: median ${c.median_ms} ms, p99 ${c.p99_ms} ms   (target <= 20 ms)`,
        '',
      ].join('\n'),
    );
  }
} finally {
  // Wait for it: a stopping endpoint still writes its track file into `dir`.
  const exited = new Promise((resolve) => endpoint.once('exit', resolve));
  endpoint.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  await apiserver?.close();
  rmSync(dir, { recursive: true, force: true });
}
