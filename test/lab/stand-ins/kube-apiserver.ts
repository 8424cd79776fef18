// stand-in for kube-apiserver: behaves like kube-apiserver at its interface for the lab — HTTPS on
// --secure-port with the certificates kubeadm made, /livez /readyz /healthz /version, and a small REST API over the
// lab's shared cluster store (get/list/create/replace/merge-patch/delete of any resource) with kube-apiserver's
// authentication: client certificates signed by the cluster CA are administrators, bootstrap tokens may discover
// and register nodes, anonymous clients see only health, version and the cluster-info ConfigMap.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { authenticates, detachedJws, liveTokens } from './bootstrap-token.ts';
import { ClusterStore, type KubeObject } from './cluster-store.ts';
import { readNodeIdentity } from './node-identity.ts';

function flag(args: string[], name: string, fallback?: string): string {
  const found = args.find((a) => a.startsWith(`--${name}=`));
  if (found) return found.slice(name.length + 3);
  if (fallback !== undefined) return fallback;
  throw new Error(`kube-apiserver: --${name} is required`);
}

const args = process.argv.slice(2);
const identity = readNodeIdentity();
const store = new ClusterStore(identity.clusterDir);
const port = Number(flag(args, 'secure-port', '6443'));
const bindAddress = flag(args, 'bind-address', '0.0.0.0');
const caPem = readFileSync(flag(args, 'client-ca-file'), 'utf8');
const gitVersion = flag(args, 'khlab-version', 'v1.34.4');

type Caller = 'admin' | 'bootstrap' | 'anonymous';

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

function send(res: ServerResponse, object: unknown, code = 200): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(object));
}

function caller(req: IncomingMessage): Caller {
  if ((req.socket as TLSSocket).authorized) return 'admin';
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ') && authenticates(store, auth.slice(7))) return 'bootstrap';
  return 'anonymous';
}

interface Target {
  group: string;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

function parseTarget(path: string): Target | undefined {
  const core = /^\/api\/v1\/(?:namespaces\/([a-z0-9.-]+)\/)?([a-z]+)(?:\/([a-z0-9.:-]+))?(?:\/status)?$/.exec(path);
  if (core) {
    // /api/v1/namespaces/NAME is the Namespace itself.
    if (core[2] !== 'namespaces' || !core[1]) {
      return { group: '', resource: core[2]!, namespace: core[1], name: core[3] };
    }
  }
  const ns = /^\/api\/v1\/namespaces\/([a-z0-9.-]+)$/.exec(path);
  if (ns) return { group: '', resource: 'namespaces', namespace: undefined, name: ns[1] };
  const grouped =
    /^\/apis\/([a-z0-9.-]+)\/([a-z0-9]+)\/(?:namespaces\/([a-z0-9.-]+)\/)?([a-z]+)(?:\/([a-z0-9.:-]+))?(?:\/status)?$/.exec(
      path,
    );
  if (grouped) return { group: grouped[1]!, resource: grouped[4]!, namespace: grouped[3], name: grouped[5] };
  return undefined;
}

/** What a bootstrap token may do: read cluster-info and kubeadm's shared objects, register and update nodes. */
function bootstrapAllowed(method: string, t: Target): boolean {
  if (t.resource === 'nodes') return ['GET', 'POST', 'PUT', 'PATCH'].includes(method);
  if (method !== 'GET') return false;
  if (t.resource === 'configmaps') return ['cluster-info', 'kubeadm-config', 'kubelet-config'].includes(t.name ?? '');
  if (t.resource === 'secrets') return t.name === 'kubeadm-certs';
  return false;
}

function clusterInfo(): KubeObject | undefined {
  const stored = store.get('configmaps', 'kube-public', 'cluster-info');
  if (!stored) return undefined;
  const data = { ...((stored['data'] ?? {}) as Record<string, string>) };
  const kubeconfig = data['kubeconfig'] ?? '';
  for (const token of liveTokens(store).filter((t) => t.usages.includes('signing'))) {
    data[`jws-kubeconfig-${token.id}`] = detachedJws(kubeconfig, token.id, token.secret);
  }
  return { ...stored, data };
}

function matchesSelectors(object: KubeObject, url: URL): boolean {
  const labels = url.searchParams.get('labelSelector');
  if (labels) {
    for (const term of labels.split(',')) {
      const [key, value] = term.split('=');
      const have = object.metadata.labels?.[key ?? ''];
      if (value === undefined ? have === undefined : have !== value) return false;
    }
  }
  const fields = url.searchParams.get('fieldSelector');
  if (fields) {
    for (const term of fields.split(',')) {
      const [key, value] = term.split('=');
      const actual = (key ?? '')
        .split('.')
        .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], object);
      if (String(actual) !== value) return false;
    }
  }
  return true;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : undefined;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://apiserver');
  const method = req.method ?? 'GET';
  if (['/livez', '/readyz', '/healthz'].includes(url.pathname)) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(url.searchParams.has('verbose') ? `[+]ping ok\n[+]etcd ok\n${url.pathname.slice(1)} check passed\n` : 'ok');
    return;
  }
  if (url.pathname === '/version') {
    const [major, minor] = gitVersion.slice(1).split('.');
    send(res, { major, minor, gitVersion, platform: 'linux/amd64' });
    return;
  }
  const target = parseTarget(url.pathname);
  if (!target) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
  const who = caller(req);
  const isClusterInfo =
    method === 'GET' &&
    target.resource === 'configmaps' &&
    target.namespace === 'kube-public' &&
    target.name === 'cluster-info';
  if (!isClusterInfo && who === 'anonymous') {
    return status(res, 401, 'Unauthorized', 'Unauthorized');
  }
  if (who === 'bootstrap' && !isClusterInfo && !bootstrapAllowed(method, target)) {
    return status(res, 403, 'Forbidden', `${target.resource} is forbidden: a bootstrap token cannot ${method} it`);
  }
  const { resource, namespace, name } = target;
  if (method === 'GET' && name === undefined) {
    const items = store.list(resource, namespace).filter((o) => matchesSelectors(o, url));
    const kind = items[0]?.kind ?? resource;
    return send(res, {
      apiVersion: 'v1',
      kind: `${kind}List`,
      metadata: { resourceVersion: String(Date.now()) },
      items,
    });
  }
  if (method === 'GET') {
    const found = isClusterInfo ? clusterInfo() : store.get(resource, namespace, name!);
    return found ? send(res, found) : status(res, 404, 'NotFound', `${resource} "${name}" not found`);
  }
  if (method === 'DELETE') {
    return store.delete(resource, namespace, name!)
      ? send(res, { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, kind: resource } })
      : status(res, 404, 'NotFound', `${resource} "${name}" not found`);
  }
  const body = (await readBody(req)) as KubeObject | undefined;
  if (method === 'POST') {
    if (!body?.metadata?.name) return status(res, 422, 'Invalid', 'metadata.name: Required value');
    if (store.get(resource, namespace, body.metadata.name)) {
      return status(res, 409, 'AlreadyExists', `${resource} "${body.metadata.name}" already exists`);
    }
    return send(
      res,
      store.put(resource, { ...body, metadata: { ...body.metadata, ...(namespace ? { namespace } : {}) } }),
      201,
    );
  }
  if (method === 'PUT') {
    if (!body?.metadata?.name || body.metadata.name !== name)
      return status(res, 422, 'Invalid', 'metadata.name must match');
    return send(
      res,
      store.put(resource, { ...body, metadata: { ...body.metadata, ...(namespace ? { namespace } : {}) } }),
    );
  }
  if (method === 'PATCH') {
    const old = store.get(resource, namespace, name!);
    if (!old) return status(res, 404, 'NotFound', `${resource} "${name}" not found`);
    return send(res, store.put(resource, mergePatch(old, body) as KubeObject));
  }
  return status(res, 405, 'MethodNotAllowed', `${method} is not supported`);
}

const server = createServer(
  {
    cert: readFileSync(flag(args, 'tls-cert-file')),
    key: readFileSync(flag(args, 'tls-private-key-file')),
    ca: caPem,
    requestCert: true,
    rejectUnauthorized: false,
  },
  (req, res) => {
    handle(req, res).catch((error: unknown) => status(res, 500, 'InternalError', String(error)));
  },
);
server.listen(port, bindAddress, () => {
  process.stdout.write(`kube-apiserver (lab stand-in) serving on ${bindAddress}:${port} for ${identity.name}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
