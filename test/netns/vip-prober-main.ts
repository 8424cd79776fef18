// Asks the VIP over and over from a client namespace, one new TLS connection each time, and prints every answer
// as a JSON line {"start","end","ok","node"}: node vip-prober-main.ts URL PAUSE_MS TIMEOUT_MS
import { request } from 'node:https';

const [url, pause, timeout] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: vip-prober-main.ts URL [PAUSE_MS] [TIMEOUT_MS]\n');
  process.exit(2);
}
const pauseMs = Number(pause ?? 20);
const timeoutMs = Number(timeout ?? 250);
let stopped = false;
process.once('SIGTERM', () => {
  stopped = true;
});

function once(): Promise<{ ok: boolean; node: string }> {
  return new Promise((resolve) => {
    const req = request(url!, { agent: false, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, node: String(res.headers['x-kubeha-node'] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ ok: false, node: '' }));
    req.end();
  });
}

while (!stopped) {
  const start = Date.now();
  const result = await once();
  process.stdout.write(`${JSON.stringify({ start, end: Date.now(), ...result })}\n`);
  await new Promise((r) => setTimeout(r, pauseMs));
}
process.exit(0);
