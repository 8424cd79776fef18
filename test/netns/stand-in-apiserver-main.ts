// Runs the stand-in apiserver inside a lab namespace: node stand-in-apiserver-main.ts CERT KEY PORT NODE_NAME
import { readFileSync } from 'node:fs';
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
process.stdout.write(`listening ${apiserver.port}\n`);
process.once('SIGTERM', () => void apiserver.close().then(() => process.exit(0)));
