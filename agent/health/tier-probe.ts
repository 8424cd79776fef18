import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';

export interface TierProbeResult {
  ok: boolean;
  detail: string;
}

export interface TierProbeOptions {
  /** Over the prober's kept-alive connection (when one is passed) instead of a new one. */
  reuse?: KeptAliveConnection;
}

/**
 * One GET of the tier's /readyz. With the cluster CA the chain is verified and the name checked against "kubernetes",
 * which kubeadm puts in every apiserver certificate (127.0.0.1 is not in it). A fresh connection unless `reuse` is
 * given.
 */
export function probeTier(
  url: string,
  caPem: string,
  timeoutMs: number,
  options: TierProbeOptions = {},
): Promise<TierProbeResult> {
  return new Promise((resolve) => {
    const verify = caPem !== '';
    const reuse = options.reuse;
    const closeAfter = reuse?.beforeRequest() ?? false;
    const req = request(
      url,
      {
        method: 'GET',
        agent: reuse?.agent ?? false,
        timeout: timeoutMs,
        ...(verify ? { ca: caPem, servername: 'kubernetes' } : { rejectUnauthorized: false }),
        headers: { accept: 'text/plain', ...(closeAfter ? { connection: 'close' } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const ok = res.statusCode === 200;
          resolve({ ok, detail: `HTTP ${res.statusCode}${verify ? '' : ' (cluster CA not known yet: unverified)'}` });
        });
        res.on('error', (error) => resolve({ ok: false, detail: error.message }));
      },
    );
    if (reuse) req.on('socket', (socket) => reuse.watch(socket, closeAfter));
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ ok: false, detail: error.message }));
    req.end();
  });
}

/**
 * One kept-alive TLS connection to the tier for the periodic probe: a probe then costs a request instead of a TLS
 * handshake, and the tier's death is heard at once, as the connection closing (`onLost`), not at the next probe.
 * Every `requestsPerConnection` requests it is closed and opened anew, so a reloaded HAProxy's old process (which
 * serves its open connections until they end) is let go and the probe reaches the new one.
 */
export class KeptAliveConnection {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  private readonly requestsPerConnection: number;
  private readonly onLost: () => void;
  private requests = 0;
  private closed = false;
  private readonly open = new Set<Socket>();
  private readonly closingOnPurpose = new WeakSet<Socket>();

  constructor(options: { requestsPerConnection?: number; onLost: () => void }) {
    this.requestsPerConnection = options.requestsPerConnection ?? 40;
    this.onLost = options.onLost;
  }

  /** Counts a request; true when this one should close the connection after its answer. */
  beforeRequest(): boolean {
    this.requests++;
    if (this.requests < this.requestsPerConnection) return false;
    this.requests = 0;
    return true;
  }

  watch(socket: Socket, closingOnPurpose: boolean): void {
    if (closingOnPurpose) this.closingOnPurpose.add(socket);
    if (this.open.has(socket)) return;
    this.open.add(socket);
    socket.once('close', () => {
      this.open.delete(socket);
      if (!this.closingOnPurpose.has(socket) && !this.closed) this.onLost();
    });
  }

  /** Closes the connection (the next request opens a new one): behind HAProxy, it may lead to an unready apiserver. */
  drop(): void {
    for (const socket of this.open) {
      this.closingOnPurpose.add(socket);
      socket.destroy();
    }
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}
