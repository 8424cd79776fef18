import { request } from 'node:https';

export interface ReadyzProbeOptions {
  /** "VIP:PORT" or "[v6]:PORT". */
  endpoint: string;
  /** The cluster CA; without it the certificate is not checked (/readyz is anonymous and carries no secret). */
  caPem?: string;
  timeoutMs?: number;
}

/** One GET https://ENDPOINT/readyz per call: true on 200, false on any other status, error or timeout. */
export function createReadyzProbe(options: ReadyzProbeOptions): () => Promise<boolean> {
  const url = new URL(`https://${options.endpoint}/readyz`);
  const timeoutMs = options.timeoutMs ?? 1000;
  return () =>
    new Promise<boolean>((resolve) => {
      const req = request(
        url,
        {
          method: 'GET',
          timeout: timeoutMs,
          agent: false,
          ...(options.caPem ? { ca: options.caPem } : { rejectUnauthorized: false }),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
          res.on('error', () => resolve(false));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
      req.end();
    });
}
