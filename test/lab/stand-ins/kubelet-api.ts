// stand-in for the kubelet against a REAL apiserver: behaves like the kubelet at its interface — waits for the
// configuration kubeadm writes, serves /healthz on its healthz address, does the TLS bootstrap when kubeadm join left
// a bootstrap-kubelet.conf (a CertificateSigningRequest for kubernetes.io/kube-apiserver-client-kubelet made with the
// bootstrap token, approved and signed by the controller-manager, the issued certificate written to
// /var/lib/kubelet/pki/kubelet-client-current.pem and kubelet.conf pointing at it), runs every static-pod manifest as
// a process (the command's program found on PATH, images ignored), registers its Node, renews its Lease in
// kube-node-lease, creates the mirror pods with kubernetes.io/config.* annotations, and runs the pods bound to its
// node: a CNI DaemonSet's pod is played by the stand-in (it writes the node's CNI config and makes the pod network as
// flannel does: cni0 and flannel.1 with routes to the other nodes' podCIDRs, pod-sandbox.ts) and reported Running;
// an agnhost pod (verify's pod-traffic probe) runs for real, the real agnhost in a sandbox of its own with an address
// from the Node's podCIDR, its readiness probed, deleted with its sandbox; any other image is refused (the pod stays
// Pending, saying why). Static pods keep running when the kubelet stops, as containers do under containerd.
import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { request } from 'node:https';
import { cpus, hostname, release, totalmem } from 'node:os';
import * as x509 from '@peculiar/x509';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  containerAlive,
  createSandbox,
  deleteSandbox,
  ensureBridge,
  ensureVxlan,
  type NodeNetwork,
  type PeerNode,
  readSandbox,
  type SandboxStore,
  sandboxUids,
  startContainer,
} from './pod-sandbox.ts';
import {
  isAlive,
  podStateDir,
  type RunningPod,
  runningPods,
  type StaticPodManifest,
  startStaticPod,
} from './static-pods.ts';

const manifestsDir = '/etc/kubernetes/manifests';
const kubeletConf = '/etc/kubernetes/kubelet.conf';
const bootstrapConf = '/etc/kubernetes/bootstrap-kubelet.conf';
const configYaml = '/var/lib/kubelet/config.yaml';
const pkiDir = '/var/lib/kubelet/pki';
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} kubelet: ${line}\n`);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Credentials {
  server: string;
  ca: string;
  cert?: string;
  key?: string;
  token?: string;
}

interface Reply {
  status: number;
  body: string;
}

// biome-ignore lint/suspicious/noExplicitAny: API objects are read field by field.
type Obj = any;

function readKubeconfigFile(path: string): Credentials {
  const raw = parseYaml(readFileSync(path, 'utf8')) as Obj;
  const context = (raw.contexts ?? []).find((c: Obj) => c.name === raw['current-context'])?.context ?? {};
  const cluster = ((raw.clusters ?? []).find((c: Obj) => c.name === context.cluster) ?? raw.clusters?.[0])?.cluster;
  const user = ((raw.users ?? []).find((u: Obj) => u.name === context.user) ?? raw.users?.[0])?.user ?? {};
  const data = (inline: unknown, file: unknown) =>
    typeof inline === 'string'
      ? Buffer.from(inline, 'base64').toString('utf8')
      : typeof file === 'string'
        ? readFileSync(file, 'utf8')
        : undefined;
  const ca = data(cluster?.['certificate-authority-data'], cluster?.['certificate-authority']);
  if (!cluster?.server || !ca) throw new Error(`${path}: no server or certificate authority`);
  const cert = data(user['client-certificate-data'], user['client-certificate']);
  const key = data(user['client-key-data'], user['client-key']);
  return {
    server: cluster.server,
    ca,
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(typeof user.token === 'string' ? { token: user.token } : {}),
  };
}

function api(
  creds: Credentials,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Reply> {
  const url = new URL(path, creds.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: creds.ca,
        ...(creds.cert && creds.key ? { cert: creds.cert, key: creds.key } : {}),
        headers: {
          accept: 'application/json',
          'user-agent': `kubelet/v${kubeletVersion()} (linux/amd64) lab-stand-in`,
          ...(creds.token ? { authorization: `Bearer ${creds.token}` } : {}),
          // Node sends a DELETE's body neither chunked nor with a length unless told: the apiserver would read the
          // body as the next request on the kept-alive connection and answer 400.
          ...(payload === undefined
            ? {}
            : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(payload)) }),
        },
        timeout: 15_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function expectOk(reply: Promise<Reply>, what: string, alsoOk: number[] = []): Promise<Obj> {
  const r = await reply;
  if ((r.status < 200 || r.status > 299) && !alsoOk.includes(r.status)) {
    throw new Error(`${what}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  }
  return r.body ? JSON.parse(r.body) : {};
}

/** The version the lab stamps into its node image; the kubelet binary of that release would print it. */
export function kubeletVersion(): string {
  try {
    const identity = JSON.parse(readFileSync('/etc/khlab/node.json', 'utf8')) as { kubernetesVersion?: string };
    return identity.kubernetesVersion ?? '1.34.4';
  } catch {
    return '1.34.4';
  }
}

function kubeletFlags(): Record<string, string> {
  const flags: Record<string, string> = {};
  try {
    const env = readFileSync('/var/lib/kubelet/kubeadm-flags.env', 'utf8');
    for (const m of env.matchAll(/--([a-z0-9-]+)=("[^"]*"|[^\s"]+)/g)) flags[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  } catch {
    // kubeadm writes it with the config; before that there are no flags.
  }
  return flags;
}

const nodeName = () => kubeletFlags()['hostname-override'] ?? hostname();

/** The node's address: --node-ip from kubeadm's flags, else the first address of eth0. */
function nodeIp(): string {
  return (
    kubeletFlags()['node-ip'] ??
    (JSON.parse(readFileSync('/etc/khlab/node.json', 'utf8')) as { address: string }).address
  );
}

// --- TLS bootstrap -------------------------------------------------------------------------------------------

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)?.join('\n')}\n-----END ${label}-----\n`;
}

function writeKubeletConf(server: string, ca: string, certFile: string): void {
  const config = stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'default-cluster',
        cluster: { 'certificate-authority-data': Buffer.from(ca).toString('base64'), server },
      },
    ],
    contexts: [
      { name: 'default-context', context: { cluster: 'default-cluster', namespace: 'default', user: 'default-auth' } },
    ],
    'current-context': 'default-context',
    preferences: {},
    users: [{ name: 'default-auth', user: { 'client-certificate': certFile, 'client-key': certFile } }],
  });
  writeFileSync(`${kubeletConf}.tmp`, config, { mode: 0o600 });
  renameSync(`${kubeletConf}.tmp`, kubeletConf);
}

async function tlsBootstrap(): Promise<void> {
  const bootstrap = readKubeconfigFile(bootstrapConf);
  const name = nodeName();
  log(`TLS bootstrap of system:node:${name} with ${bootstrapConf}`);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `O=system:nodes,CN=system:node:${name}`,
    keys,
    signingAlgorithm: algorithm,
  });
  const created = await expectOk(
    api(bootstrap, 'POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { generateName: 'node-csr-' },
      spec: {
        request: Buffer.from(csr.toString('pem')).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
        usages: ['digital signature', 'client auth'],
      },
    }),
    'creating the CertificateSigningRequest',
  );
  const csrName: string = created.metadata.name;
  log(`CertificateSigningRequest ${csrName} created; waiting for the controller-manager to approve and sign it`);
  let certificate = '';
  for (let i = 0; i < 600 && !certificate; i++) {
    const got = await expectOk(
      api(bootstrap, 'GET', `/apis/certificates.k8s.io/v1/certificatesigningrequests/${csrName}`),
      `reading ${csrName}`,
    ).catch((e: Error) => {
      log(e.message);
      return {};
    });
    const denied = (got.status?.conditions ?? []).find((c: Obj) => c.type === 'Denied' || c.type === 'Failed');
    if (denied) throw new Error(`${csrName} was ${denied.type}: ${denied.message ?? ''}`);
    if (got.status?.certificate) certificate = Buffer.from(got.status.certificate, 'base64').toString('utf8');
    else await sleep(1000);
  }
  if (!certificate) throw new Error(`${csrName} was not signed within 10 minutes`);
  mkdirSync(pkiDir, { recursive: true, mode: 0o755 });
  const stamp = now().replace(/[T:]/g, '-').replace('Z', '');
  const file = `${pkiDir}/kubelet-client-${stamp}.pem`;
  writeFileSync(
    file,
    `${certificate}${pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))}`,
    {
      mode: 0o600,
    },
  );
  const current = `${pkiDir}/kubelet-client-current.pem`;
  rmSync(current, { force: true });
  symlinkSync(file, current);
  writeKubeletConf(bootstrap.server, bootstrap.ca, current);
  log(`TLS bootstrap done: ${current}, ${kubeletConf}`);
}

// --- static pods ------------------------------------------------------------------------------------------------

interface Manifest {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Obj;
}

function startPod(file: string, manifest: Manifest, hash: string): RunningPod | undefined {
  return startStaticPod(file, manifest as StaticPodManifest, hash, {
    nodeName: nodeName(),
    startedAt: now(),
    log,
    containerEnv: true,
  });
}

function stopPod(pod: RunningPod): void {
  try {
    process.kill(-pod.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  rmSync(`${podStateDir}/${pod.manifest}.json`, { force: true });
  log(`stopped static pod ${pod.podName}`);
}

interface StaticPod {
  pod: RunningPod;
  manifest: Manifest;
}

/** The manifests' pods as processes: started, restarted when the manifest changes or the process dies, stopped. */
function syncStaticPods(): StaticPod[] {
  mkdirSync(podStateDir, { recursive: true });
  const wanted = existsSync(manifestsDir) ? readdirSync(manifestsDir).filter((f) => f.endsWith('.yaml')) : [];
  const running = new Map(runningPods().map((p) => [p.manifest, p]));
  for (const [file, pod] of running) {
    if (!wanted.includes(file)) {
      stopPod(pod);
      running.delete(file);
    }
  }
  const pods: StaticPod[] = [];
  for (const file of wanted) {
    let text: string;
    try {
      text = readFileSync(`${manifestsDir}/${file}`, 'utf8');
    } catch {
      continue;
    }
    const manifest = parseYaml(text) as Manifest;
    const hash = createHash('md5').update(text).digest('hex');
    let pod = running.get(file);
    if (!pod || pod.hash !== hash || !isAlive(pod.pid)) {
      if (pod) stopPod(pod);
      pod = startPod(file, manifest, hash);
    }
    if (pod) pods.push({ pod, manifest });
  }
  return pods;
}

// --- status -----------------------------------------------------------------------------------------------------

function cniConfigured(): boolean {
  try {
    return readdirSync('/etc/cni/net.d').some((f) => f.endsWith('.conflist') || f.endsWith('.conf'));
  } catch {
    return false;
  }
}

function writeCniConfig(daemonSet: string): void {
  mkdirSync('/etc/cni/net.d', { recursive: true });
  writeFileSync(
    `/etc/cni/net.d/10-${daemonSet}.conflist`,
    JSON.stringify(
      {
        name: 'cbr0',
        cniVersion: '0.3.1',
        plugins: [
          { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ),
  );
  log(`${daemonSet}: wrote the CNI configuration`);
}

const nodeIdentity = { uid: '' };

async function registerNode(creds: Credentials): Promise<void> {
  const name = nodeName();
  const got = await api(creds, 'GET', `/api/v1/nodes/${name}`);
  if (got.status === 200) {
    nodeIdentity.uid = JSON.parse(got.body).metadata.uid;
    return;
  }
  const created = await expectOk(
    api(creds, 'POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'beta.kubernetes.io/arch': 'amd64',
        },
        annotations: {
          'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
          'node.alpha.kubernetes.io/ttl': '0',
        },
      },
      spec: {},
    }),
    `registering node ${name}`,
    [409],
  );
  nodeIdentity.uid = created.metadata?.uid ?? '';
  if (!nodeIdentity.uid)
    nodeIdentity.uid = (await expectOk(api(creds, 'GET', `/api/v1/nodes/${name}`), 'node')).metadata.uid;
  log(`registered node ${name}`);
}

async function reportNodeStatus(creds: Credentials): Promise<void> {
  const ready = cniConfigured();
  const t = now();
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: t,
    lastTransitionTime: t,
  });
  const capacity = {
    cpu: String(cpus().length),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: '110',
    'ephemeral-storage': '20Gi',
  };
  await expectOk(
    api(
      creds,
      'PATCH',
      `/api/v1/nodes/${nodeName()}/status`,
      {
        status: {
          conditions: [
            condition(
              'MemoryPressure',
              'False',
              'KubeletHasSufficientMemory',
              'kubelet has sufficient memory available',
            ),
            condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
            condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
            ready
              ? condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')
              : condition(
                  'Ready',
                  'False',
                  'KubeletNotReady',
                  'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
                ),
          ],
          addresses: [
            { type: 'InternalIP', address: nodeIp() },
            { type: 'Hostname', address: nodeName() },
          ],
          capacity,
          allocatable: capacity,
          daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
          nodeInfo: {
            machineID: readFileSync('/etc/machine-id', 'utf8').trim(),
            systemUUID: readFileSync('/etc/machine-id', 'utf8').trim(),
            bootID: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
            kernelVersion: release(),
            osImage: 'Rocky Linux 9.4 (Blue Onyx)',
            containerRuntimeVersion: 'containerd://1.7.25',
            kubeletVersion: `v${kubeletVersion()}`,
            kubeProxyVersion: '',
            operatingSystem: 'linux',
            architecture: 'amd64',
          },
        },
      },
      'application/strategic-merge-patch+json',
    ),
    'node status',
  );
}

let lease: Obj | undefined;

async function renewLease(creds: Credentials): Promise<void> {
  const name = nodeName();
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`;
  const spec = {
    holderIdentity: name,
    leaseDurationSeconds: 40,
    renewTime: new Date().toISOString().replace('Z', '000Z'),
  };
  if (!lease) {
    const got = await api(creds, 'GET', path);
    if (got.status === 404) {
      lease = await expectOk(
        api(creds, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name,
            namespace: 'kube-node-lease',
            ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: nodeIdentity.uid }],
          },
          spec,
        }),
        'creating the node lease',
      );
      return;
    }
    if (got.status !== 200) throw new Error(`reading the node lease: HTTP ${got.status}`);
    lease = JSON.parse(got.body);
  }
  const updated = await api(creds, 'PUT', path, { ...lease, spec: { ...lease.spec, ...spec } });
  if (updated.status === 200) lease = JSON.parse(updated.body);
  else {
    lease = undefined;
    throw new Error(`renewing the node lease: HTTP ${updated.status}`);
  }
}

function runningStatus(pod: Obj, startedAt: string, ready: boolean): Obj {
  const t = now();
  const cond = (type: string) => ({
    type,
    status: type === 'PodScheduled' || ready ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: t,
  });
  return {
    phase: 'Running',
    hostIP: nodeIp(),
    hostIPs: [{ ip: nodeIp() }],
    podIP: nodeIp(),
    podIPs: [{ ip: nodeIp() }],
    startTime: startedAt,
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(cond),
    containerStatuses: (pod.spec?.containers ?? []).map((c: Obj) => ({
      name: c.name,
      image: c.image,
      imageID: `${c.image}@sha256:${createHash('sha256').update(c.image).digest('hex')}`,
      containerID: `containerd://${createHash('sha256').update(`${pod.metadata.uid}/${c.name}`).digest('hex')}`,
      ready,
      started: ready,
      restartCount: 0,
      state: { running: { startedAt } },
    })),
  };
}

const mirrorHashes = new Map<string, string>();

async function syncMirrorPods(creds: Credentials, pods: StaticPod[]): Promise<void> {
  for (const { pod, manifest } of pods) {
    const path = `/api/v1/namespaces/${pod.namespace}/pods/${pod.podName}`;
    const got = await api(creds, 'GET', path);
    let mirror: Obj | undefined = got.status === 200 ? JSON.parse(got.body) : undefined;
    if (mirror && mirror.metadata.annotations?.['kubernetes.io/config.mirror'] !== pod.hash) {
      await api(creds, 'DELETE', path, { gracePeriodSeconds: 0, preconditions: { uid: mirror.metadata.uid } });
      mirror = undefined;
    }
    if (!mirror) {
      mirror = await expectOk(
        api(creds, 'POST', `/api/v1/namespaces/${pod.namespace}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: pod.podName,
            namespace: pod.namespace,
            labels: manifest.metadata?.labels ?? {},
            annotations: {
              ...(manifest.metadata?.annotations ?? {}),
              'kubernetes.io/config.mirror': pod.hash,
              'kubernetes.io/config.hash': pod.hash,
              'kubernetes.io/config.source': 'file',
              'kubernetes.io/config.seen': new Date(pod.startedAt).toISOString().replace('Z', '000000Z'),
            },
            ownerReferences: [
              { apiVersion: 'v1', kind: 'Node', name: nodeName(), uid: nodeIdentity.uid, controller: true },
            ],
          },
          spec: { ...manifest.spec, nodeName: nodeName() },
        }),
        `creating the mirror pod ${pod.podName}`,
      );
      log(`mirror pod ${pod.namespace}/${pod.podName} created`);
    }
    const alive = isAlive(pod.pid);
    const key = `${mirror.metadata.uid}/${alive}`;
    if (mirrorHashes.get(pod.podName) === key) continue;
    await expectOk(
      api(
        creds,
        'PATCH',
        `${path}/status`,
        { status: runningStatus(mirror, pod.startedAt, alive) },
        'application/merge-patch+json',
      ),
      `status of ${pod.podName}`,
    );
    mirrorHashes.set(pod.podName, key);
  }
}

// --- pods bound to this node -------------------------------------------------------------------------------------

/** The one image the lab runs: Kubernetes' e2e agnhost (verify's pod-traffic probe), from any registry. */
const agnhostImage = /(^|\/)e2e-test-images\/agnhost:[\w.-]+$/;
/** host-local IPAM's directory, and the sandboxes' records. */
const cniStateDir = '/var/lib/cni';
let podNetwork: NodeNetwork | undefined;
let podNetworkPeers = '';
let lastNetworkError = '';

function internalIp(node: Obj): string | undefined {
  return (node.status?.addresses ?? []).find((a: Obj) => a.type === 'InternalIP')?.address;
}

/**
 * flanneld's part, once the CNI DaemonSet's pod is on this node: cni0 and flannel.1 for the Node's podCIDR (given by
 * the controller-manager), and a route, neighbour and forwarding entry per other node that has a podCIDR.
 */
/** The CNI DaemonSet's pod on this node, whose service account the stand-in acts as when it plays flanneld. */
let cniPod: Obj | undefined;
let cniToken: { token: string; renewAt: number } | undefined;

/**
 * flanneld's credentials: a token of the CNI pod's service account, bound to that pod (a TokenRequest, as the kubelet
 * makes for a pod's projected token; the Node authorizer lets a node list only its own Node, flannel's role all).
 */
async function cniCredentials(creds: Credentials, pod: Obj): Promise<Credentials> {
  if (!cniToken || Date.now() > cniToken.renewAt) {
    const account = pod.spec?.serviceAccountName ?? 'default';
    const reply = await expectOk(
      api(creds, 'POST', `/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${account}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
        },
      }),
      `a token of ${pod.metadata.namespace}/${account} for ${pod.metadata.name}`,
    );
    cniToken = { token: reply.status.token, renewAt: Date.now() + 1_800_000 };
  }
  return { server: creds.server, ca: creds.ca, token: cniToken.token };
}

async function syncPodNetwork(creds: Credentials): Promise<void> {
  if (!cniConfigured() || !cniPod) return;
  const flannel = await cniCredentials(creds, cniPod);
  const nodes = (await expectOk(api(flannel, 'GET', '/api/v1/nodes'), 'listing nodes as the CNI')).items ?? [];
  const own = nodes.find((n: Obj) => n.metadata.name === nodeName());
  const podCidr: string | undefined = own?.spec?.podCIDR;
  if (!podCidr) return;
  const peers: PeerNode[] = nodes
    .filter((n: Obj) => n.metadata.name !== nodeName() && n.spec?.podCIDR && internalIp(n))
    .map((n: Obj) => ({ nodeIp: internalIp(n)!, podCidr: n.spec.podCIDR }));
  const network: NodeNetwork = { nodeIp: nodeIp(), uplink: 'eth0', podCidr, stateDir: cniStateDir };
  const key = JSON.stringify([podCidr, peers]);
  if (key === podNetworkPeers) return;
  ensureBridge(network);
  ensureVxlan(network, peers);
  podNetwork = network;
  podNetworkPeers = key;
  log(
    `pod network: ${podCidr} on cni0, flannel.1 to ${peers.map((p) => `${p.podCidr} via ${p.nodeIp}`).join(', ') || 'no other node yet'}`,
  );
}

type PodKind = 'cni' | 'agnhost' | 'refused';

function podKind(pod: Obj): PodKind {
  const owner = (pod.metadata.ownerReferences ?? []).find((o: Obj) => o.kind === 'DaemonSet');
  if (owner && /flannel|calico|cilium|weave/.test(owner.name)) return 'cni';
  const containers: Obj[] = pod.spec?.containers ?? [];
  const images = [...(pod.spec?.initContainers ?? []), ...containers].map((c: Obj) => String(c.image));
  return containers.length > 0 && images.every((i) => agnhostImage.test(i)) ? 'agnhost' : 'refused';
}

/** Status patches already sent, by pod uid: a status is sent again only when it changes. */
const reported = new Map<string, string>();

async function patchStatus(creds: Credentials, pod: Obj, key: string, status: Obj): Promise<boolean> {
  if (reported.get(pod.metadata.uid) === key) return false;
  const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`;
  await expectOk(
    api(creds, 'PATCH', path, { status }, 'application/merge-patch+json'),
    `status of ${pod.metadata.name}`,
  );
  reported.set(pod.metadata.uid, key);
  return true;
}

function pendingStatus(pod: Obj, reason: string, message: string): Obj {
  const t = now();
  return {
    phase: 'Pending',
    hostIP: nodeIp(),
    conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: t }],
    containerStatuses: (pod.spec?.containers ?? []).map((c: Obj) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: { waiting: { reason, message } },
    })),
  };
}

function refuse(creds: Credentials, pod: Obj): Promise<boolean> {
  const images = (pod.spec?.containers ?? []).map((c: Obj) => c.image).join(', ');
  return patchStatus(
    creds,
    pod,
    'refused',
    pendingStatus(
      pod,
      'ImageNotRunByLab',
      `the lab's stand-in kubelet runs only agnhost (e2e-test-images/agnhost) containers; not ${images}`,
    ),
  );
}

/** The readiness probe's HTTP GET, as the kubelet sends it from the node; true without a probe. */
async function probeReady(container: Obj, podIp: string): Promise<boolean> {
  const get = container.readinessProbe?.httpGet;
  if (!get) return true;
  const port =
    typeof get.port === 'number'
      ? get.port
      : (container.ports ?? []).find((p: Obj) => p.name === get.port)?.containerPort;
  try {
    const reply = await fetch(`http://${podIp}:${port}${get.path ?? '/'}`, { signal: AbortSignal.timeout(1000) });
    return reply.status >= 200 && reply.status < 400;
  } catch {
    return false;
  }
}

/** Runs an agnhost pod's container in a sandbox of its own and reports its phase, address and readiness. */
async function runAgnhostPod(creds: Credentials, pod: Obj): Promise<void> {
  const uid: string = pod.metadata.uid;
  const container = pod.spec.containers[0];
  let sandbox = readSandbox({ stateDir: cniStateDir }, uid);
  if (!sandbox) {
    if (!podNetwork) {
      await patchStatus(
        creds,
        pod,
        'no-network',
        pendingStatus(
          pod,
          'ContainerCreating',
          'the pod network is not ready: no podCIDR on the Node, or the CNI has not run',
        ),
      );
      return;
    }
    sandbox = createSandbox(podNetwork, uid);
    const logDir = `/var/log/pods/${pod.metadata.namespace}_${pod.metadata.name}_${uid}/${container.name}`;
    mkdirSync(logDir, { recursive: true });
    const user = container.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser ?? 0;
    const group = container.securityContext?.runAsGroup ?? pod.spec.securityContext?.runAsGroup ?? user;
    // The image's entrypoint is /agnhost: the real program, from the node's PATH.
    const command: string[] = (container.command ?? ['/agnhost']).map((c: string) =>
      c === '/agnhost' ? 'agnhost' : c,
    );
    startContainer(podNetwork, sandbox, {
      argv: [...command, ...(container.args ?? [])],
      hostname: pod.metadata.name,
      uid: user,
      gid: group,
      logFile: `${logDir}/0.log`,
    });
    sandbox = readSandbox(podNetwork, uid)!;
    log(
      `pod ${pod.metadata.namespace}/${pod.metadata.name}: ${container.image} runs in ${sandbox.netns} at ${sandbox.ip}`,
    );
  }
  const startedAt = pod.status?.startTime ?? now();
  if (!containerAlive(sandbox)) {
    const t = now();
    await patchStatus(creds, pod, 'failed', {
      phase: 'Failed',
      podIP: sandbox.ip,
      podIPs: [{ ip: sandbox.ip }],
      containerStatuses: [
        {
          name: container.name,
          image: container.image,
          imageID: '',
          ready: false,
          started: false,
          restartCount: 0,
          state: { terminated: { reason: 'Error', exitCode: 1, startedAt, finishedAt: t } },
        },
      ],
    });
    return;
  }
  const ready = await probeReady(container, sandbox.ip);
  const status = runningStatus(pod, startedAt, ready);
  Object.assign(status, { podIP: sandbox.ip, podIPs: [{ ip: sandbox.ip }] });
  if (await patchStatus(creds, pod, `running/${ready}`, status)) {
    log(`pod ${pod.metadata.namespace}/${pod.metadata.name}: Running, ${ready ? 'ready' : 'not ready yet'}`);
  }
}

/**
 * Pods the scheduler or a DaemonSet bound to this node: the CNI's played, agnhost's run, the rest refused; deleted
 * pods lose their sandbox before the kubelet confirms the deletion, and a sandbox whose pod is gone is removed.
 */
async function syncBoundPods(creds: Credentials): Promise<void> {
  const list = await expectOk(
    api(creds, 'GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName()}`)}`),
    'listing pods bound to this node',
  );
  const sandboxState: SandboxStore = { stateDir: cniStateDir };
  const uids = new Set<string>();
  for (const pod of list.items ?? []) {
    if (pod.metadata.annotations?.['kubernetes.io/config.mirror']) continue;
    uids.add(pod.metadata.uid);
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
    if (pod.metadata.deletionTimestamp) {
      deleteSandbox(sandboxState, pod.metadata.uid);
      await api(creds, 'DELETE', path, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      reported.delete(pod.metadata.uid);
      continue;
    }
    const kind = podKind(pod);
    if (kind === 'agnhost') {
      await runAgnhostPod(creds, pod);
      continue;
    }
    if (kind === 'refused') {
      if (await refuse(creds, pod)) log(`pod ${pod.metadata.namespace}/${pod.metadata.name}: refused (not agnhost)`);
      continue;
    }
    const owner = (pod.metadata.ownerReferences ?? []).find((o: Obj) => o.kind === 'DaemonSet');
    if (cniPod?.metadata.uid !== pod.metadata.uid) cniToken = undefined;
    cniPod = pod;
    if (!cniConfigured()) writeCniConfig(owner.name);
    const ready = (pod.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
    if (pod.status?.phase === 'Running' && ready) continue;
    await expectOk(
      api(
        creds,
        'PATCH',
        `${path}/status`,
        { status: runningStatus(pod, now(), true) },
        'application/merge-patch+json',
      ),
      `status of ${pod.metadata.name}`,
    );
    log(`pod ${pod.metadata.namespace}/${pod.metadata.name} reported Running (the stand-in does the CNI's work)`);
  }
  for (const uid of sandboxUids(sandboxState)) {
    if (!uids.has(uid)) {
      deleteSandbox(sandboxState, uid);
      reported.delete(uid);
      log(`removed the sandbox of pod ${uid}, which is gone`);
    }
  }
}

// --- main -------------------------------------------------------------------------------------------------------

function serveHealthz(): void {
  let address = '127.0.0.1';
  let port = 10248;
  try {
    const config = parseYaml(readFileSync(configYaml, 'utf8')) as Obj;
    address = config.healthzBindAddress ?? address;
    port = config.healthzPort ?? port;
  } catch {
    // kubeadm's defaults.
  }
  if (port === 0) return;
  createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/healthz' ? 'ok' : 'not found');
  })
    .on('error', (e) => log(`healthz ${address}:${port}: ${e.message}`))
    .listen(port, address);
}

export async function runKubelet(): Promise<void> {
  let waited = false;
  while (!existsSync(configYaml) || (!existsSync(kubeletConf) && !existsSync(bootstrapConf))) {
    if (!waited) log(`waiting for ${configYaml} and ${kubeletConf} or ${bootstrapConf} (kubeadm init or join)`);
    waited = true;
    await sleep(500);
  }
  serveHealthz();
  log(`running on node ${nodeName()} (${nodeIp()}), kubelet v${kubeletVersion()} stand-in`);
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
  });
  let registered = false;
  let lastLease = 0;
  let lastStatus = 0;
  let lastReady = false;
  let lastError = '';
  while (!stopping) {
    const pods = syncStaticPods();
    try {
      if (!existsSync(kubeletConf)) await tlsBootstrap();
      const creds = readKubeconfigFile(kubeletConf);
      if (!registered) {
        await registerNode(creds);
        registered = true;
      }
      if (Date.now() - lastStatus > 10_000 || cniConfigured() !== lastReady) {
        await reportNodeStatus(creds);
        lastStatus = Date.now();
        lastReady = cniConfigured();
      }
      if (Date.now() - lastLease > 10_000) {
        await renewLease(creds);
        lastLease = Date.now();
      }
      await syncMirrorPods(creds, pods);
      await syncBoundPods(creds);
      await syncPodNetwork(creds).catch((error: Error) => {
        cniToken = undefined;
        if (error.message !== lastNetworkError) log(`pod network: ${error.message}`);
        lastNetworkError = error.message;
      });
      lastError = '';
    } catch (error) {
      const message = (error as Error).message;
      if (message !== lastError) log(`sync: ${message}`);
      lastError = message;
    }
    await sleep(2000);
  }
  log('stopped (static pods keep running)');
}
