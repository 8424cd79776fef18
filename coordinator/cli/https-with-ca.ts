import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { tlsPolicy } from '../../common/tls-policy.ts';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * fetch over node:https that trusts exactly one CA (the coordinator's), with kubeha's TLS policy. Node's fetch takes
 * no CA option, and the coordinator's CA must not be added to the workstation's trust store.
 */
export function fetchTrustingCa(caPem: string): FetchLike {
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const headers = new Headers(init.headers);
      const host = target.hostname.replace(/^\[|\]$/g, '');
      const req = httpsRequest(
        target,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers.entries()),
          ca: caPem,
          minVersion: tlsPolicy.minVersion,
          ciphers: tlsPolicy.ciphers,
          ...(isIP(host) ? {} : { servername: host }),
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          const body = status === 204 || status === 304 ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          resolve(new Response(body, { status, headers: responseHeaders }));
        },
      );
      req.on('error', (error) => reject(new TypeError('fetch failed', { cause: error })));
      if (typeof init.body === 'string') req.end(init.body);
      else req.end();
    });
}
