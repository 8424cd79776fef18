// Bootstrap tokens as the cluster stores them (Secret bootstrap-token-<id> in kube-system) and the detached JWS
// that the bootstrap signer puts into the cluster-info ConfigMap for each token.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ClusterStore, KubeObject } from './cluster-store.ts';

export const tokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: unknown) => (typeof text === 'string' ? Buffer.from(text, 'base64').toString('utf8') : '');
const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** Go's duration syntax as kubeadm takes it: 24h0m0s, 1h, 30m, 0 (never expires). */
export function parseGoDuration(text: string): number {
  if (text === '0' || text === '0s') return 0;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!match || text === '') throw new Error(`invalid duration "${text}"`);
  return (Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0)) * 1000;
}

export function bootstrapTokenSecret(
  token: string,
  options: { ttlMs: number; description?: string; usages?: string[]; groups?: string[] },
): KubeObject {
  const match = tokenPattern.exec(token);
  if (!match)
    throw new Error(
      `the bootstrap token "${token.slice(0, 6)}..." was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"`,
    );
  const usages = options.usages ?? ['signing', 'authentication'];
  const data: Record<string, string> = {
    'token-id': b64(match[1]!),
    'token-secret': b64(match[2]!),
    'auth-extra-groups': b64((options.groups ?? ['system:bootstrappers:kubeadm:default-node-token']).join(',')),
  };
  for (const usage of usages) data[`usage-bootstrap-${usage}`] = b64('true');
  if (options.description) data['description'] = b64(options.description);
  if (options.ttlMs > 0)
    data['expiration'] = b64(new Date(Date.now() + options.ttlMs).toISOString().replace(/\.\d+Z$/, 'Z'));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'bootstrap.kubernetes.io/token',
    metadata: { name: `bootstrap-token-${match[1]}`, namespace: 'kube-system' },
    data,
  };
}

export interface StoredToken {
  id: string;
  secret: string;
  expiresAt: number | undefined;
  usages: string[];
  description: string;
}

export function readStoredToken(secret: KubeObject): StoredToken {
  const data = (secret['data'] ?? {}) as Record<string, string>;
  const expiration = unb64(data['expiration']);
  return {
    id: unb64(data['token-id']),
    secret: unb64(data['token-secret']),
    expiresAt: expiration ? Date.parse(expiration) : undefined,
    usages: Object.keys(data)
      .filter((k) => k.startsWith('usage-bootstrap-') && unb64(data[k]) === 'true')
      .map((k) => k.slice('usage-bootstrap-'.length)),
    description: unb64(data['description']),
  };
}

/** The live tokens of the cluster (expired ones are treated as gone, as the token cleaner deletes them). */
export function liveTokens(store: ClusterStore): StoredToken[] {
  return store
    .list('secrets', 'kube-system')
    .filter((s) => s['type'] === 'bootstrap.kubernetes.io/token')
    .map(readStoredToken)
    .filter((t) => t.expiresAt === undefined || t.expiresAt > Date.now());
}

/** Whether `token` is a live bootstrap token allowed for authentication. */
export function authenticates(store: ClusterStore, token: string): boolean {
  const match = tokenPattern.exec(token);
  if (!match) return false;
  const found = liveTokens(store).find((t) => t.id === match[1]);
  if (!found?.usages.includes('authentication')) return false;
  const a = Buffer.from(found.secret);
  const b = Buffer.from(match[2]!);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The detached JWS (header..signature) the bootstrap signer computes over the cluster-info kubeconfig. */
export function detachedJws(kubeconfig: string, tokenId: string, tokenSecret: string): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', kid: tokenId }));
  const signature = createHmac('sha256', tokenSecret)
    .update(`${header}.${b64url(kubeconfig)}`)
    .digest();
  return `${header}..${b64url(signature)}`;
}
