// The machine's floor for bench:health: a bare node:http server answering every request with one constant JSON body
// of the health endpoint's size. node constant-http-server-main.ts BODY_BYTES; prints "listening PORT".
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const size = Number(process.argv[2] ?? 160);
const body = `${JSON.stringify({ healthy: true, pad: 'x'.repeat(Math.max(0, size - 30)) })}\n`;
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
