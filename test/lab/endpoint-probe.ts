// Runs inside a lab node during the failover drill: GET /readyz through the endpoint every INTERVAL ms on a fixed
// schedule, each probe on its own (a hung one never delays the next) with a 1 s timeout, at most COUNT probes,
// printing "<start epoch ms> <1|0>" per probe as it finishes (1 = answered 200 "ok").
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const [url, caFile, intervalArg, countArg] = process.argv.slice(2);
if (!url || !caFile) {
  process.stderr.write('usage: endpoint-probe URL CA_FILE [INTERVAL_MS] [COUNT]\n');
  process.exit(2);
}
const ca = readFileSync(caFile);
const intervalMs = Number(intervalArg ?? 50);
const count = Number(countArg ?? 3000);

function probe(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url as string, { ca, timeout: 1000, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'ok'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

const first = Date.now();
let started = 0;
const tick = () => {
  if (started >= count) return;
  started++;
  const at = Date.now();
  void probe().then((ok) => process.stdout.write(`${at} ${ok ? 1 : 0}\n`));
  const elapsed = Date.now() - first;
  setTimeout(tick, (Math.floor(elapsed / intervalMs) + 1) * intervalMs - elapsed);
};
tick();
