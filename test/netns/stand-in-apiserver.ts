import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface StandInApiserver {
  server: Server;
  port: number;
  /** What /readyz, /livez and /healthz answer from now on. */
  setStatus(code: number): void;
  /** How long they take to answer from now on (a slow but healthy apiserver). */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/** An HTTPS server shaped like kube-apiserver's health paths: /livez, /readyz, /healthz answer "ok" with 200. */
export async function startStandInApiserver(options: {
  certPem: string;
  keyPem: string;
  port: number;
  host: string;
  nodeName?: string;
}): Promise<StandInApiserver> {
  let status = 200;
  let delayMs = 0;
  const server = createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/livez' || path === '/readyz' || path === '/healthz') {
      const answer = () => {
        res.writeHead(status, { 'content-type': 'text/plain', 'x-kubeha-node': options.nodeName ?? '' });
        res.end(status === 200 ? 'ok' : 'not ready');
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    setStatus(code) {
      status = code;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
