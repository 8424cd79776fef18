// Runs inside a lab node during the failover drill: GET /readyz through the endpoint every INTERVAL ms, at most
// COUNT times, printing "<epoch ms> <1|0>" per probe (1 = answered 200 "ok" within the interval).
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const [url, caFile, intervalArg, countArg] = process.argv.slice(2);
if (!url || !caFile) {
  process.stderr.write('usage: endpoint-probe URL CA_FILE [INTERVAL_MS] [COUNT]\n');
  process.exit(2);
}
const ca = readFileSync(caFile);
const intervalMs = Number(intervalArg ?? 100);
const count = Number(countArg ?? 3000);

function probe(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url as string, { ca, timeout: intervalMs * 5 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'ok'));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

for (let i = 0; i < count; i++) {
  const started = Date.now();
  const ok = await probe();
  process.stdout.write(`${started} ${ok ? 1 : 0}\n`);
  const left = intervalMs - (Date.now() - started);
  if (left > 0) await new Promise((r) => setTimeout(r, left));
}
