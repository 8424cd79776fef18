// Asks the VIP from a client namespace on a fixed schedule, one new TLS connection per request, and prints every
// answer as a JSON line {"start","end","ok","node"}: node vip-prober-main.ts URL EVERY_MS TIMEOUT_MS
// Requests start every EVERY_MS whether or not the earlier ones have answered, each with its own timeout, so a
// request stuck on a vanished address (its SYN to the old holder's MAC) never delays the next: the first answer after
// an outage comes within EVERY_MS of the VIP answering again.
import { request } from 'node:https';

const [url, every, timeout] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: vip-prober-main.ts URL [EVERY_MS] [TIMEOUT_MS]\n');
  process.exit(2);
}
const everyMs = Number(every ?? 25);
const timeoutMs = Number(timeout ?? 1000);

function once(): void {
  const start = Date.now();
  let reported = false;
  const report = (ok: boolean, node: string) => {
    if (reported) return;
    reported = true;
    process.stdout.write(`${JSON.stringify({ start, end: Date.now(), ok, node })}\n`);
  };
  const req = request(url!, { agent: false, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
    res.resume();
    res.on('end', () => report(res.statusCode === 200, String(res.headers['x-kubeha-node'] ?? '')));
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => report(false, ''));
  req.end();
}

const timer = setInterval(once, everyMs);
once();
process.once('SIGTERM', () => {
  clearInterval(timer);
  process.exit(0);
});
