// Runs the stand-in apiserver inside a lab namespace: node stand-in-apiserver-main.ts CERT KEY PORT NODE_NAME
// A line "delay MS" on stdin makes its health paths answer MS later from then on.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startStandInApiserver } from './stand-in-apiserver.ts';

const [certFile, keyFile, port, nodeName] = process.argv.slice(2);
if (!certFile || !keyFile || !port) {
  process.stderr.write('usage: stand-in-apiserver-main.ts CERT KEY PORT [NODE_NAME]\n');
  process.exit(2);
}
const apiserver = await startStandInApiserver({
  certPem: readFileSync(certFile, 'utf8'),
  keyPem: readFileSync(keyFile, 'utf8'),
  port: Number(port),
  host: '0.0.0.0',
  ...(nodeName ? { nodeName } : {}),
});
createInterface({ input: process.stdin }).on('line', (line) => {
  const delay = /^delay (\d+)$/.exec(line.trim());
  if (delay) apiserver.setDelay(Number(delay[1]));
  else process.stderr.write(`unknown command: ${line}\n`);
});
process.stdout.write(`listening ${apiserver.port}\n`);
process.once('SIGTERM', () => void apiserver.close().then(() => process.exit(0)));
