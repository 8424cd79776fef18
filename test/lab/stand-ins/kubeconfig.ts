// kubeconfig files as kubeadm writes them, and an HTTPS client that talks to the server one names.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

export interface Kubeconfig {
  server: string;
  caPem: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  user: string;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: unknown) => (typeof text === 'string' ? Buffer.from(text, 'base64').toString('utf8') : undefined);

export function renderKubeconfig(config: Kubeconfig, clusterName = 'kubernetes'): string {
  const context = `${config.user}@${clusterName}`;
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: clusterName, cluster: { 'certificate-authority-data': b64(config.caPem), server: config.server } },
    ],
    contexts: [{ name: context, context: { cluster: clusterName, user: config.user } }],
    'current-context': context,
    preferences: {},
    users: [
      {
        name: config.user,
        user: {
          ...(config.certPem ? { 'client-certificate-data': b64(config.certPem) } : {}),
          ...(config.keyPem ? { 'client-key-data': b64(config.keyPem) } : {}),
          ...(config.token ? { token: config.token } : {}),
        },
      },
    ],
  });
}

interface RawKubeconfig {
  clusters?: { cluster?: Record<string, unknown> }[];
  users?: { name?: string; user?: Record<string, unknown> }[];
}

export function parseKubeconfig(text: string): Kubeconfig {
  const raw = parseYaml(text) as RawKubeconfig;
  const cluster = raw.clusters?.[0]?.cluster ?? {};
  const user = raw.users?.[0];
  const caPem = unb64(cluster['certificate-authority-data']);
  if (typeof cluster['server'] !== 'string' || !caPem) throw new Error('kubeconfig: no server or CA');
  const certPem = unb64(user?.user?.['client-certificate-data']);
  const keyPem = unb64(user?.user?.['client-key-data']);
  const token = user?.user?.['token'];
  return {
    server: cluster['server'],
    caPem,
    user: user?.name ?? 'unknown',
    ...(certPem ? { certPem } : {}),
    ...(keyPem ? { keyPem } : {}),
    ...(typeof token === 'string' ? { token } : {}),
  };
}

export function readKubeconfig(path: string): Kubeconfig {
  return parseKubeconfig(readFileSync(path, 'utf8'));
}

export interface ApiReply {
  status: number;
  body: string;
  json(): unknown;
}

/** One request to the API server; `caPem` undefined means "do not verify the server" (kubeadm's token discovery). */
export function apiRequest(
  target: { server: string; caPem?: string; certPem?: string; keyPem?: string; token?: string },
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<ApiReply> {
  const url = new URL(path, target.server);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        // A connection of its own per request: the stand-in's synchronous work (certificates) can block its event
        // loop past the server's keep-alive timeout, and a pooled socket the server has closed meanwhile fails the
        // next request with "socket hang up". Go's transport (real kubeadm) retries such a request on a new one.
        agent: false,
        ...(target.caPem ? { ca: target.caPem } : { rejectUnauthorized: false }),
        ...(target.certPem && target.keyPem ? { cert: target.certPem, key: target.keyPem } : {}),
        headers: {
          accept: 'application/json',
          ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href}: timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
