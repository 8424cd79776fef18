import { request } from 'node:https';

export interface TierProbeResult {
  ok: boolean;
  detail: string;
}

/**
 * One GET of the tier's /readyz on a fresh connection. With the cluster CA the chain is verified and the name
 * checked against "kubernetes", which kubeadm puts in every apiserver certificate (127.0.0.1 is not in it).
 */
export function probeTier(url: string, caPem: string, timeoutMs: number): Promise<TierProbeResult> {
  return new Promise((resolve) => {
    const verify = caPem !== '';
    const req = request(
      url,
      {
        method: 'GET',
        agent: false,
        timeout: timeoutMs,
        ...(verify ? { ca: caPem, servername: 'kubernetes' } : { rejectUnauthorized: false }),
        headers: { accept: 'text/plain' },
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
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ ok: false, detail: error.message }));
    req.end();
  });
}
