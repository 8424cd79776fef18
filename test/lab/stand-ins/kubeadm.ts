// stand-in for kubeadm: behaves like kubeadm at its interface for the lab — init, join, reset, token
// create/delete/list, init phase upload-certs, certs certificate-key, version. init makes a real CA and
// certificates with openssl, the kubeconfigs pointing at the controlPlaneEndpoint, the static-pod manifests (so the
// stand-in kubelet starts the stand-in apiserver), uploads its objects THROUGH the controlPlaneEndpoint (VIP and
// HAProxy) and prints the join commands in kubeadm's exact layout. join discovers the cluster through the endpoint
// with the bootstrap token (JWS-signed cluster-info, CA pinned by hash) and registers the node with the token.

import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { kubeadmInitSucceeded } from '../../../agent/kubeadm/kubeadm-init-output.fixture.ts';
import { caCertHash } from '../../../common/ca-hash.ts';
import {
  bootstrapTokenSecret,
  detachedJws,
  parseGoDuration,
  readStoredToken,
  tokenPattern,
} from './bootstrap-token.ts';
import { ClusterStore, type KubeObject } from './cluster-store.ts';
import {
  createCa,
  createServiceAccountKeys,
  issueControlPlaneLeaves,
  issueLeaf,
  pkiDir,
  readPki,
  secretKeyFor,
  sharedCertificateFiles,
} from './kube-pki.ts';
import {
  type ApiReply,
  apiRequest,
  type Kubeconfig,
  parseKubeconfig,
  readKubeconfig,
  renderKubeconfig,
} from './kubeconfig.ts';
import { readNodeIdentity } from './node-identity.ts';
import { requirePackage } from './package-database.ts';

requirePackage('kubeadm', 'kubeadm');
const identity = readNodeIdentity();
const store = new ClusterStore(identity.clusterDir);
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};
const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const k8sDir = '/etc/kubernetes';
const manifestsDir = `${k8sDir}/manifests`;
const adminConf = `${k8sDir}/admin.conf`;

class KubeadmError extends Error {}

// biome-ignore lint/suspicious/noExplicitAny: kubeadm's YAML configuration is read field by field, each with a default.
type Yaml = any;

function write(path: string, content: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode });
}

interface KubeadmConfigs {
  init?: Yaml;
  cluster?: Yaml;
  join?: Yaml;
}

function readConfig(path: string): KubeadmConfigs {
  const configs: KubeadmConfigs = {};
  for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
    const value = doc.toJSON() as Yaml | null;
    if (!value) continue;
    if (
      !/^kubeadm\.k8s\.io\/v1beta[34]$/.test(String(value['apiVersion'])) &&
      String(value['apiVersion']).startsWith('kubeadm')
    ) {
      throw new KubeadmError(`${path}: unsupported apiVersion "${value['apiVersion']}"`);
    }
    if (value['kind'] === 'InitConfiguration') configs.init = value;
    if (value['kind'] === 'ClusterConfiguration') configs.cluster = value;
    if (value['kind'] === 'JoinConfiguration') configs.join = value;
  }
  return configs;
}

function nodeIp(nodeRegistration: Yaml | undefined, fallback: string): string {
  const args = nodeRegistration?.['kubeletExtraArgs'];
  if (Array.isArray(args)) return args.find((a: { name: string }) => a.name === 'node-ip')?.value ?? fallback;
  return args?.['node-ip'] ?? fallback;
}

function preflight(controlPlane: boolean): void {
  const errors: string[] = [];
  if (controlPlane) {
    for (const m of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']) {
      const path = `${manifestsDir}/${m}.yaml`;
      if (existsSync(path)) errors.push(`[ERROR FileAvailable-${path.replace(/\//g, '-')}]: ${path} already exists`);
    }
    if (existsSync('/var/lib/etcd') && readdirSync('/var/lib/etcd').length > 0) {
      errors.push('[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty');
    }
  }
  if (existsSync(`${k8sDir}/kubelet.conf`)) {
    errors.push('[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists');
  }
  out('[preflight] Running pre-flight checks');
  if (errors.length > 0) {
    throw new KubeadmError(
      `[preflight] Some fatal errors occurred:\n\t${errors.join('\n\t')}\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\`\nTo see the stack trace of this error execute with --v=5 or higher`,
    );
  }
}

function staticPodManifest(
  name: string,
  image: string,
  command: string[],
  labels: Record<string, string> = {},
): string {
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'kube-system', labels: { component: name, tier: 'control-plane', ...labels } },
    spec: { hostNetwork: true, priorityClassName: 'system-node-critical', containers: [{ name, image, command }] },
  });
}

function writeControlPlane(options: {
  nodeName: string;
  address: string;
  version: string;
  endpoint: string;
  kubeconfigs: boolean;
}): void {
  const { nodeName, address, version } = options;
  const endpointHost = options.endpoint.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  out('[certs] Using certificateDir folder "/etc/kubernetes/pki"');
  issueControlPlaneLeaves({ nodeName, address, endpointHost, serviceIp: '10.96.0.1' });
  out(
    `[certs] apiserver serving cert is signed for DNS names [kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local ${nodeName}] and IPs [10.96.0.1 ${address} ${endpointHost}]`,
  );
  const ca = readPki('ca');
  const server = `https://${options.endpoint}`;
  const kubeconfigFor = (file: string, user: string, subject: string, target: string) => {
    const base = `kubeconfig-${file.replace('.conf', '')}`;
    issueLeaf({ ca: 'ca', base, subject, usage: 'client' });
    const leaf = readPki(base);
    rmSync(join(pkiDir, `${base}.crt`));
    rmSync(join(pkiDir, `${base}.key`));
    write(
      `${k8sDir}/${file}`,
      renderKubeconfig({ server: target, caPem: ca.cert, certPem: leaf.cert, keyPem: leaf.key, user }),
    );
    out(`[kubeconfig] Writing "${file}" kubeconfig file`);
  };
  out('[kubeconfig] Using kubeconfig folder "/etc/kubernetes"');
  if (options.kubeconfigs) {
    kubeconfigFor('admin.conf', 'kubernetes-admin', '/O=kubeadm:cluster-admins/CN=kubernetes-admin', server);
    kubeconfigFor('super-admin.conf', 'kubernetes-super-admin', '/O=system:masters/CN=kubernetes-super-admin', server);
  }
  kubeconfigFor(
    'controller-manager.conf',
    'system:kube-controller-manager',
    '/CN=system:kube-controller-manager',
    `https://${address}:6443`,
  );
  kubeconfigFor('scheduler.conf', 'system:kube-scheduler', '/CN=system:kube-scheduler', `https://${address}:6443`);
  const image = (name: string) => `registry.k8s.io/${name}:${version}`;
  out('[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"');
  mkdirSync('/var/lib/etcd/member', { recursive: true, mode: 0o700 });
  write(
    `${manifestsDir}/etcd.yaml`,
    staticPodManifest(
      'etcd',
      'registry.k8s.io/etcd:3.5.15-0',
      ['etcd', `--name=${nodeName}`, `--advertise-client-urls=https://${address}:2379`, '--data-dir=/var/lib/etcd'],
      {},
    ),
  );
  out('[control-plane] Using manifest folder "/etc/kubernetes/manifests"');
  for (const [name, command] of [
    [
      'kube-apiserver',
      [
        'kube-apiserver',
        `--advertise-address=${address}`,
        '--secure-port=6443',
        `--client-ca-file=${pkiDir}/ca.crt`,
        `--tls-cert-file=${pkiDir}/apiserver.crt`,
        `--tls-private-key-file=${pkiDir}/apiserver.key`,
        '--etcd-servers=https://127.0.0.1:2379',
        `--khlab-version=${version}`,
      ],
    ],
    [
      'kube-controller-manager',
      ['kube-controller-manager', `--kubeconfig=${k8sDir}/controller-manager.conf`, '--leader-elect=true'],
    ],
    ['kube-scheduler', ['kube-scheduler', `--kubeconfig=${k8sDir}/scheduler.conf`, '--leader-elect=true']],
  ] as const) {
    out(`[control-plane] Creating static Pod manifest for "${name}"`);
    write(`${manifestsDir}/${name}.yaml`, staticPodManifest(name, image(name), [...command]));
  }
}

function startKubelet(nodeName: string, address: string): void {
  out('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"');
  write(
    '/var/lib/kubelet/kubeadm-flags.env',
    `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --node-ip=${address} --hostname-override=${nodeName}"\n`,
    0o644,
  );
  out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"');
  write(
    '/var/lib/kubelet/config.yaml',
    stringifyYaml({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'systemd',
      staticPodPath: manifestsDir,
    }),
    0o644,
  );
  out('[kubelet-start] Starting the kubelet');
  execFileSync('systemctl', ['restart', 'kubelet'], { stdio: 'inherit' });
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new KubeadmError(`${what}: timed out after ${timeoutMs / 1000}s`);
}

function expectOk(reply: ApiReply, what: string): void {
  if (reply.status >= 300) throw new KubeadmError(`${what}: HTTP ${reply.status}: ${reply.body.slice(0, 300)}`);
}

async function apply(kubeconfig: Kubeconfig, path: string, object: KubeObject): Promise<void> {
  const existing = await apiRequest(kubeconfig, 'GET', `${path}/${object.metadata.name}`);
  const reply =
    existing.status === 200
      ? await apiRequest(kubeconfig, 'PUT', `${path}/${object.metadata.name}`, object)
      : await apiRequest(kubeconfig, 'POST', path, object);
  expectOk(reply, `writing ${object.kind} ${object.metadata.name}`);
}

function sealCertificates(key: string): Record<string, string> {
  const data: Record<string, string> = {};
  for (const file of sharedCertificateFiles) {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'hex'), nonce);
    const sealed = Buffer.concat([
      nonce,
      cipher.update(readFileSync(join(pkiDir, file))),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    data[secretKeyFor(file)] = sealed.toString('base64');
  }
  return data;
}

function unsealCertificates(data: Record<string, string>, key: string): void {
  for (const file of sharedCertificateFiles) {
    const sealed = Buffer.from(data[secretKeyFor(file)] ?? '', 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(key, 'hex'), sealed.subarray(0, 12));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
      write(join(pkiDir, file), plain.toString('utf8'), file.endsWith('.key') ? 0o600 : 0o644);
    } catch {
      throw new KubeadmError(
        'error downloading the secret: error decoding secret data with provided key: cipher: message authentication failed',
      );
    }
  }
}

async function uploadCerts(kubeconfig: Kubeconfig, key: string): Promise<void> {
  out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
  // kubeadm ties kubeadm-certs to a 2-hour token, so the Secret is garbage-collected with it.
  const proxyToken = `${randomToken()}`;
  const tokenSecret = bootstrapTokenSecret(proxyToken, {
    ttlMs: 2 * 3600_000,
    description: 'Proxy for managing TTL for the kubeadm-certs secret',
    usages: [],
  });
  await apply(kubeconfig, '/api/v1/namespaces/kube-system/secrets', tokenSecret);
  const owner = (
    await apiRequest(kubeconfig, 'GET', `/api/v1/namespaces/kube-system/secrets/${tokenSecret.metadata.name}`)
  ).json() as KubeObject;
  await apply(kubeconfig, '/api/v1/namespaces/kube-system/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: 'kubeadm-certs',
      namespace: 'kube-system',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: owner.metadata.name, uid: owner.metadata.uid ?? '' }],
    },
    data: sealCertificates(key),
  });
  out('[upload-certs] Using certificate key:');
  out(key);
}

function randomToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
  return `${pick(6)}.${pick(16)}`;
}

function joinCommand(endpoint: string, token: string, hash: string, certificateKey?: string): string {
  return `kubeadm join ${endpoint} --token ${token} \\\n\t--discovery-token-ca-cert-hash ${hash} ${certificateKey ? `\\\n\t--control-plane --certificate-key ${certificateKey}` : ''}`;
}

async function init(args: string[]): Promise<void> {
  const configPath = flagValue(args, 'config');
  if (!configPath) throw new KubeadmError('kubeadm init in the lab needs --config');
  const { init: initConfig, cluster } = readConfig(configPath);
  const version = String(cluster?.['kubernetesVersion'] ?? 'v1.34.4').replace(/^v?/, 'v');
  const endpoint = String(cluster?.['controlPlaneEndpoint'] ?? '');
  if (!endpoint) throw new KubeadmError('the lab stand-in needs controlPlaneEndpoint (an HA cluster)');
  const nodeName = String(initConfig?.['nodeRegistration']?.['name'] ?? hostname());
  const address = String(initConfig?.['localAPIEndpoint']?.['advertiseAddress'] ?? identity.address);
  const token = String(initConfig?.['bootstrapTokens']?.[0]?.['token'] ?? randomToken());
  const tokenTtl = parseGoDuration(String(initConfig?.['bootstrapTokens']?.[0]?.['ttl'] ?? '24h0m0s'));
  const certificateKey = String(initConfig?.['certificateKey'] ?? randomBytes(32).toString('hex'));
  if (!tokenPattern.test(token))
    throw new KubeadmError(
      `the bootstrap token "${token.slice(0, 6)}..." was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"`,
    );
  out(`[init] Using Kubernetes version: ${version}`);
  preflight(true);
  out('[certs] Generating "ca" certificate and key');
  createCa('ca', 'kubernetes');
  createCa('front-proxy-ca', 'front-proxy-ca');
  createCa('etcd/ca', 'etcd-ca');
  createServiceAccountKeys();
  writeControlPlane({ nodeName, address, version, endpoint, kubeconfigs: true });
  write(`${k8sDir}/kubelet.conf`, readFileSync(adminConf, 'utf8'));
  store.addEtcdMember(nodeName, address);
  startKubelet(nodeName, address);
  out(
    '[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests"',
  );
  const admin = readKubeconfig(adminConf);
  await waitFor(
    '[api-check] the API server is not healthy',
    async () =>
      (await apiRequest({ ...admin, server: `https://${address}:6443` }, 'GET', '/healthz', undefined, 2000)).status ===
      200,
    90_000,
  );
  out('[api-check] The API server is healthy');
  // From here on kubeadm talks to the cluster through the controlPlaneEndpoint: the VIP and HAProxy.
  await waitFor(
    `reaching the control plane endpoint ${endpoint}`,
    async () => (await apiRequest(admin, 'GET', '/healthz', undefined, 2000)).status === 200,
    60_000,
  );
  out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace');
  await apply(admin, '/api/v1/namespaces/kube-system/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kubeadm-config', namespace: 'kube-system' },
    data: { ClusterConfiguration: stringifyYaml(cluster ?? {}) },
  });
  await apiRequest(admin, 'POST', '/api/v1/nodes', nodeObject(nodeName, address, true, version));
  await uploadCerts(admin, certificateKey);
  out(
    `[mark-control-plane] Marking the node ${nodeName} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]`,
  );
  out(`[bootstrap-token] Using token: ${token}`);
  out('[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles');
  await apply(admin, '/api/v1/namespaces/kube-system/secrets', bootstrapTokenSecret(token, { ttlMs: tokenTtl }));
  await apply(admin, '/api/v1/namespaces/kube-public/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cluster-info', namespace: 'kube-public' },
    data: { kubeconfig: renderKubeconfig({ server: `https://${endpoint}`, caPem: admin.caPem, user: '' }, '') },
  });
  await apply(admin, '/apis/apps/v1/namespaces/kube-system/deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
    spec: { replicas: 2, selector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
  });
  out('[addons] Applied essential addon: CoreDNS');
  await apply(admin, '/apis/apps/v1/namespaces/kube-system/daemonsets', {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: { 'k8s-app': 'kube-proxy' } },
    spec: { selector: { matchLabels: { 'k8s-app': 'kube-proxy' } } },
  });
  out('[addons] Applied essential addon: kube-proxy');
  const hash = caCertHash(admin.caPem);
  out(
    `\n${kubeadmInitSucceeded(joinCommand(endpoint, token, hash, certificateKey), joinCommand(endpoint, token, hash))}`,
  );
}

function nodeObject(name: string, address: string, controlPlane: boolean, version: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        ...(controlPlane
          ? {
              'node-role.kubernetes.io/control-plane': '',
              'node.kubernetes.io/exclude-from-external-load-balancers': '',
            }
          : {}),
      },
    },
    spec: controlPlane ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {},
    status: {
      addresses: [
        { type: 'InternalIP', address },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        kubeletVersion: version,
        containerRuntimeVersion: 'containerd://1.7.25',
        osImage: 'Rocky Linux 9.4 (Blue Onyx)',
      },
      conditions: [
        { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime network not ready' },
      ],
    },
  };
}

/** kubeadm's token discovery: cluster-info through the endpoint, its JWS checked with the token, the CA pinned. */
async function discover(endpoint: string, token: string, pins: string[]): Promise<string> {
  const [tokenId, tokenSecret] = token.split('.') as [string, string];
  out(`[discovery] Trying to connect to API Server "${endpoint}"`);
  const reply = await apiRequest(
    { server: `https://${endpoint}` },
    'GET',
    '/api/v1/namespaces/kube-public/configmaps/cluster-info',
  );
  expectOk(
    reply,
    `couldn't validate the identity of the API Server: failed to request the cluster-info ConfigMap from ${endpoint}`,
  );
  const data = ((reply.json() as KubeObject)['data'] ?? {}) as Record<string, string>;
  const kubeconfig = data['kubeconfig'] ?? '';
  const jws = data[`jws-kubeconfig-${tokenId}`];
  if (!jws) {
    throw new KubeadmError(
      `couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "${tokenId}"`,
    );
  }
  if (detachedJws(kubeconfig, tokenId, tokenSecret) !== jws) {
    throw new KubeadmError(
      "couldn't validate the identity of the API Server: failed to verify JWS signature of received cluster info object, can't trust this API Server",
    );
  }
  const caPem = parseKubeconfig(kubeconfig).caPem;
  const hash = caCertHash(caPem);
  if (!pins.map((p) => p.toLowerCase()).includes(hash)) {
    throw new KubeadmError(
      `couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${hash}" are pinned`,
    );
  }
  out(
    `[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server "${endpoint}"`,
  );
  return caPem;
}

async function joinNode(args: string[]): Promise<void> {
  const configPath = flagValue(args, 'config');
  if (!configPath) throw new KubeadmError('kubeadm join in the lab needs --config');
  const { join: joinConfig } = readConfig(configPath);
  const discovery = joinConfig?.['discovery']?.['bootstrapToken'] ?? {};
  const endpoint = String(discovery['apiServerEndpoint'] ?? '');
  const token = String(discovery['token'] ?? '');
  const pins = (discovery['caCertHashes'] ?? []) as string[];
  const controlPlane = joinConfig?.['controlPlane'];
  const nodeName = String(joinConfig?.['nodeRegistration']?.['name'] ?? hostname());
  const address = String(
    controlPlane?.['localAPIEndpoint']?.['advertiseAddress'] ??
      nodeIp(joinConfig?.['nodeRegistration'], identity.address),
  );
  if (!tokenPattern.test(token))
    throw new KubeadmError(
      `the bootstrap token "${token.slice(0, 6)}..." was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"`,
    );
  preflight(Boolean(controlPlane));
  const caPem = await discover(endpoint, token, pins);
  const asBootstrap = { server: `https://${endpoint}`, caPem, token };
  const kubeadmConfig = await apiRequest(
    asBootstrap,
    'GET',
    '/api/v1/namespaces/kube-system/configmaps/kubeadm-config',
  );
  expectOk(kubeadmConfig, 'unable to fetch the kubeadm-config ConfigMap');
  const clusterConfig = parseAllDocuments(
    ((kubeadmConfig.json() as KubeObject)['data'] as Record<string, string>)['ClusterConfiguration'] ?? '',
  )[0]?.toJSON() as Yaml;
  const version = String(clusterConfig?.['kubernetesVersion'] ?? 'v1.34.4').replace(/^v?/, 'v');
  out('[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...');
  if (controlPlane) {
    const key = String(controlPlane['certificateKey'] ?? '');
    out('[preflight] Running pre-flight checks before initializing the new control plane instance');
    out('[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
    const certs = await apiRequest(asBootstrap, 'GET', '/api/v1/namespaces/kube-system/secrets/kubeadm-certs');
    if (certs.status === 404) {
      throw new KubeadmError(
        'error downloading certs: error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one',
      );
    }
    expectOk(certs, 'error downloading the secret');
    unsealCertificates(((certs.json() as KubeObject)['data'] ?? {}) as Record<string, string>, key);
    writeControlPlane({ nodeName, address, version, endpoint, kubeconfigs: true });
    out(`[etcd] Announced new etcd member joining to the existing etcd cluster`);
    store.addEtcdMember(nodeName, address);
    out('[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s');
  } else {
    write(`${pkiDir}/ca.crt`, caPem, 0o644);
  }
  write(
    `${k8sDir}/bootstrap-kubelet.conf`,
    renderKubeconfig({ server: `https://${endpoint}`, caPem, token, user: 'tls-bootstrap-token-user' }),
  );
  // The TLS bootstrap's result: a kubelet kubeconfig (the stand-in kubelet reports through the cluster store).
  write(
    `${k8sDir}/kubelet.conf`,
    renderKubeconfig({ server: `https://${endpoint}`, caPem, user: `system:node:${nodeName}` }),
  );
  rmSync(`${k8sDir}/bootstrap-kubelet.conf`, { force: true });
  out('[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap');
  const registered = await apiRequest(
    asBootstrap,
    'POST',
    '/api/v1/nodes',
    nodeObject(nodeName, address, Boolean(controlPlane), version),
  );
  if (registered.status !== 201 && registered.status !== 409) expectOk(registered, `registering node ${nodeName}`);
  startKubelet(nodeName, address);
  if (controlPlane) {
    const admin = readKubeconfig(adminConf);
    await waitFor(
      '[api-check] the local API server is not healthy',
      async () =>
        (await apiRequest({ ...admin, server: `https://${address}:6443` }, 'GET', '/healthz', undefined, 2000))
          .status === 200,
      90_000,
    );
    out(
      `[mark-control-plane] Marking the node ${nodeName} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]`,
    );
    out(`
This node has joined the cluster and a new control plane instance was created:

* Certificate signing request was sent to apiserver and approval was received.
* The Kubelet was informed of the new secure connection details.
* Control plane label and taint were applied to the new node.
* The Kubernetes control plane instances scaled up.
* A new etcd member was added to the local/stacked etcd cluster.

To start administering your cluster from this node, you need to run the following as a regular user:

\tmkdir -p $HOME/.kube
\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
\tsudo chown $(id -u):$(id -g) $HOME/.kube/config

Run 'kubectl get nodes' to see this node join the cluster.
`);
  } else {
    out(`
This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'kubectl get nodes' on the control-plane to see this node join the cluster.
`);
  }
}

async function reset(): Promise<void> {
  out('[reset] Reading configuration from the cluster...');
  const name = hostname();
  const member = store.etcdMembers().find((m) => m.name === name);
  if (member && existsSync(`${manifestsDir}/etcd.yaml`)) {
    out(
      '[reset] Removing info for node "' +
        name +
        '" from the ConfigMap "kubeadm-config" in the "kube-system" Namespace',
    );
    store.removeEtcdMember(member.id);
  }
  out('[preflight] Running pre-flight checks');
  out('[reset] Deleted contents of the etcd data directory: /var/lib/etcd');
  out('[reset] Stopping the kubelet service');
  execFileSync('systemctl', ['stop', 'kubelet'], { stdio: 'ignore' });
  out('[reset] Unmounting mounted directories in "/var/lib/kubelet"');
  rmSync(manifestsDir, { recursive: true, force: true });
  // The stand-in kubelet is stopped, so the pods its manifests started are stopped here, as crictl rm would.
  execFileSync('crictl', ['rm', '--all', '--force'], { stdio: 'ignore' });
  for (const path of ['/var/lib/etcd', '/var/lib/kubelet', pkiDir, '/etc/cni/net.d'])
    rmSync(path, { recursive: true, force: true });
  for (const file of [
    'admin.conf',
    'super-admin.conf',
    'kubelet.conf',
    'bootstrap-kubelet.conf',
    'controller-manager.conf',
    'scheduler.conf',
  ]) {
    rmSync(`${k8sDir}/${file}`, { force: true });
  }
  out('[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]');
  out(
    '[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]',
  );
  out('\nThe reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d');
}

function flagValue(args: string[], name: string): string | undefined {
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

function refuseMixedWithConfig(args: string[], flags: string[]): void {
  const mixed = flags.filter((f) => flagValue(args, f) !== undefined);
  if (mixed.length > 0) throw new KubeadmError(`can not mix '--config' with arguments [${mixed.join(' ')}]`);
}

function adminKubeconfig(args: string[]): Kubeconfig {
  const path = flagValue(args, 'kubeconfig') ?? adminConf;
  if (!existsSync(path))
    throw new KubeadmError(`failed to load admin kubeconfig: open ${path}: no such file or directory`);
  return readKubeconfig(path);
}

async function tokenCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const admin = adminKubeconfig(rest);
  const positional = rest.filter(
    (a, i) =>
      !a.startsWith('--') &&
      !rest[i - 1]?.match(/^--(ttl|description|kubeconfig|certificate-key|usages|groups|config)$/),
  );
  if (sub === 'create') {
    // Like kubeadm: --config carries the token (an InitConfiguration's bootstrapTokens[0]) and mixes with no token flag.
    const configPath = flagValue(rest, 'config');
    if (configPath !== undefined) refuseMixedWithConfig(rest, ['ttl', 'description', 'usages', 'groups']);
    const fromConfig = configPath === undefined ? undefined : readConfig(configPath).init?.['bootstrapTokens']?.[0];
    const token = String(fromConfig?.['token'] ?? positional[0] ?? randomToken());
    if (!tokenPattern.test(token))
      throw new KubeadmError(
        `the bootstrap token "${token.slice(0, 6)}..." was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"`,
      );
    const ttlMs = parseGoDuration(String(fromConfig?.['ttl'] ?? flagValue(rest, 'ttl') ?? '24h0m0s'));
    const description = fromConfig?.['description'] ?? flagValue(rest, 'description');
    const secret = bootstrapTokenSecret(token, { ttlMs, ...(description ? { description } : {}) });
    const reply = await apiRequest(admin, 'POST', '/api/v1/namespaces/kube-system/secrets', secret);
    if (reply.status === 409)
      throw new KubeadmError(
        `failed to create bootstrap token with name "${secret.metadata.name}": secrets "${secret.metadata.name}" already exists`,
      );
    expectOk(reply, 'failed to create bootstrap token');
    if (rest.includes('--print-join-command')) {
      const endpoint = admin.server.replace(/^https:\/\//, '');
      const key = flagValue(rest, 'certificate-key');
      out(
        joinCommand(endpoint, token, caCertHash(admin.caPem), key)
          .replace(/ \\\n\t/g, ' ')
          .trimEnd(),
      );
    } else out(token);
    return;
  }
  if (sub === 'delete') {
    if (positional.length === 0)
      throw new KubeadmError(
        'missing argument; \'token delete\' is missing token of form "[a-z0-9]{6}" or "[a-z0-9]{6}\\.[a-z0-9]{16}"',
      );
    for (const value of positional) {
      const id = value.split('.')[0]!;
      const reply = await apiRequest(admin, 'DELETE', `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${id}`);
      if (reply.status === 404)
        throw new KubeadmError(
          `failed to delete bootstrap token with name "bootstrap-token-${id}": secrets "bootstrap-token-${id}" not found`,
        );
      expectOk(reply, 'failed to delete bootstrap token');
      out(`bootstrap token "${id}" deleted`);
    }
    return;
  }
  if (sub === 'list') {
    const reply = await apiRequest(admin, 'GET', '/api/v1/namespaces/kube-system/secrets');
    expectOk(reply, 'failed to list bootstrap tokens');
    out(
      'TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION                                                EXTRA GROUPS',
    );
    for (const secret of (reply.json() as { items: KubeObject[] }).items.filter(
      (s) => s['type'] === 'bootstrap.kubernetes.io/token',
    )) {
      const t = readStoredToken(secret);
      const ttl =
        t.expiresAt === undefined ? '<forever>' : `${Math.max(0, Math.round((t.expiresAt - Date.now()) / 3600_000))}h`;
      out(
        `${t.id}.<redacted>   ${ttl.padEnd(11)} ${t.expiresAt ? new Date(t.expiresAt).toISOString().replace(/\.\d+Z$/, 'Z') : '<never>'}   ${t.usages.join(',').padEnd(24)} ${t.description}`,
      );
    }
    return;
  }
  throw new KubeadmError(`unknown command "${sub ?? ''}" for "kubeadm token"`);
}

async function main(argv: string[]): Promise<void> {
  const words = argv.filter((a) => !a.startsWith('-'));
  if (argv[0] === 'init' && argv[1] === 'phase' && argv[2] === 'upload-certs') {
    if (!argv.includes('--upload-certs')) return;
    const configPath = flagValue(argv, 'config');
    if (configPath !== undefined) refuseMixedWithConfig(argv, ['certificate-key']);
    const fromConfig = configPath === undefined ? undefined : readConfig(configPath).init?.['certificateKey'];
    const key = String(fromConfig ?? flagValue(argv, 'certificate-key') ?? randomBytes(32).toString('hex'));
    if (!/^[0-9a-f]{64}$/.test(key))
      throw new KubeadmError('error decoding certificate key: encoding/hex: invalid byte');
    await uploadCerts(adminKubeconfig(argv), key);
    return;
  }
  switch (argv[0]) {
    case 'init':
      return init(argv.slice(1));
    case 'join':
      return joinNode(argv.slice(1));
    case 'reset':
      return reset();
    case 'token':
      return tokenCommand(argv.slice(1));
    case 'certs':
      if (words[1] === 'certificate-key') return out(randomBytes(32).toString('hex'));
      break;
    case 'version':
      return out(
        argv.includes('short')
          ? 'v1.34.4'
          : 'kubeadm version: &version.Info{Major:"1", Minor:"34", GitVersion:"v1.34.4"}',
      );
  }
  throw new KubeadmError(`unknown command "${argv[0] ?? ''}" for "kubeadm" (the lab stand-in)`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    err(`error execution phase: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
