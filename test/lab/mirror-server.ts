// The lab's mirror for air-gapped deploys: runs in the admin node and serves over http what a site's mirror would
// (the CNI manifest), logging every request with its client, so that the lab can show which node fetched what.
// Usage: node test/lab/mirror-server.ts PORT LOGFILE
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const files: Record<string, string> = {
  '/flannel/v0.26.1/kube-flannel.yml': readFileSync(
    new URL('./stand-ins/downloads/kube-flannel.yml', import.meta.url),
    'utf8',
  ),
};

const [port, logFile] = process.argv.slice(2);
if (!port || !logFile) {
  process.stderr.write('usage: mirror-server.ts PORT LOGFILE\n');
  process.exit(2);
}
createServer((request, response) => {
  const body = files[request.url ?? ''];
  appendFileSync(logFile, `${request.method} ${request.url} ${request.socket.remoteAddress} ${body ? 200 : 404}\n`);
  response.writeHead(body ? 200 : 404, { 'content-type': 'text/plain' });
  response.end(body ?? 'not mirrored here\n');
}).listen(Number(port), '0.0.0.0');
