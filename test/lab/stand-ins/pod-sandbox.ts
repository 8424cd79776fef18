// The lab kubelet's pod sandboxes and node pod network, made as flannel (vxlan backend) and its CNI plugins make them:
// the node's `cni0` bridge holding the first address of the Node's spec.podCIDR; per pod a network namespace of its
// own, a veth pair whose host end is on cni0, an address from the podCIDR (host-local IPAM: one file per address)
// and a default route via cni0; and a `flannel.1` VXLAN device (VNI 1, UDP 8472, the podCIDR's network address)
// with, per other node, a route to its podCIDR through flannel.1, the neighbour entry of its VTEP and the forwarding
// entry that sends to its address. Like flannel, the VTEP's MAC is the node's own; unlike flannel, which publishes it
// in a Node annotation, the lab derives it from the node's address, so a node knows its peers' from their addresses.
//
// A container runs in the pod's network namespace and a UTS namespace of its own whose hostname is the pod's name (what
// agnhost's /hostname answers), as the pod's user.
//
// Every command runs in `node.netns` when given (a test's namespace), else in the current network namespace (inside
// a lab node). Pod processes enter the pod's namespace with nsenter and keep the caller's mount namespace, so the
// lab's teardown finds them by the node's mount namespace.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export interface NodeNetwork {
  /** The namespace the node's interfaces live in; undefined: the current one. */
  netns?: string;
  /** The node's address on `uplink`: the VXLAN's local end. */
  nodeIp: string;
  uplink: string;
  /** The Node object's spec.podCIDR. */
  podCidr: string;
  /** Where the IPAM files and the sandboxes' records are kept. */
  stateDir: string;
}

/** What the sandboxes' records and removal need: the state directory and the node's namespace. */
export type SandboxStore = Pick<NodeNetwork, 'netns' | 'stateDir'>;

export interface PeerNode {
  nodeIp: string;
  podCidr: string;
}

export interface Sandbox {
  podUid: string;
  netns: string;
  ip: string;
  hostVeth: string;
  /** The container's process (its own process group), once started. */
  pid?: number;
}

/** flannel's MTU for VXLAN on a 1500-byte network: 50 bytes of encapsulation. */
const vxlanMtu = 1450;
export const bridgeName = 'cni0';
export const vxlanName = 'flannel.1';

function toNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`"${ip}" is not an IPv4 address`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function toAddress(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface PodSubnet {
  network: string;
  prefixLength: number;
  /** cni0's address: the first host address. */
  gateway: string;
  /** The addresses pods get: from the second host address to the last before broadcast. */
  first: number;
  last: number;
}

export function podSubnet(cidr: string): PodSubnet {
  const [address, length] = cidr.split('/');
  const prefixLength = Number(length);
  if (!address || !Number.isInteger(prefixLength) || prefixLength < 8 || prefixLength > 30) {
    throw new Error(`podCIDR "${cidr}" is not an IPv4 network of /8 to /30`);
  }
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  const network = (toNumber(address) & mask) >>> 0;
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  return {
    network: toAddress(network),
    prefixLength,
    gateway: toAddress(network + 1),
    first: network + 2,
    last: broadcast - 1,
  };
}

/** A locally administered unicast MAC made of the node's address: 0e:6b:a.b.c.d in hex. */
export function vtepMac(nodeIp: string): string {
  const n = toNumber(nodeIp);
  return [
    '0e',
    '6b',
    ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0')),
  ].join(':');
}

function ip(node: Pick<NodeNetwork, 'netns'>, args: string[]): string {
  return execFileSync('ip', [...(node.netns ? ['-n', node.netns] : []), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function ipQuiet(node: Pick<NodeNetwork, 'netns'>, args: string[]): boolean {
  try {
    ip(node, args);
    return true;
  } catch {
    return false;
  }
}

function bridgeCommand(node: NodeNetwork, args: string[]): void {
  const argv = node.netns ? ['ip', 'netns', 'exec', node.netns, 'bridge', ...args] : ['bridge', ...args];
  execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

function linkExists(node: NodeNetwork, name: string): boolean {
  return ipQuiet(node, ['link', 'show', 'dev', name]);
}

function hasAddress(node: NodeNetwork, device: string, cidr: string): boolean {
  return ip(node, ['-o', '-4', 'addr', 'show', 'dev', device]).includes(` ${cidr} `);
}

/** cni0 with the podCIDR's first address, up (the bridge plugin's work on a node's first pod). */
export function ensureBridge(node: NodeNetwork): void {
  const subnet = podSubnet(node.podCidr);
  if (!linkExists(node, bridgeName)) ip(node, ['link', 'add', bridgeName, 'type', 'bridge']);
  const address = `${subnet.gateway}/${subnet.prefixLength}`;
  if (!hasAddress(node, bridgeName, address)) ip(node, ['addr', 'add', address, 'dev', bridgeName]);
  ip(node, ['link', 'set', bridgeName, 'mtu', String(vxlanMtu), 'up']);
}

/**
 * flannel.1 and, per peer, what flanneld programs when it sees the peer's Node: a route to its podCIDR via its
 * VTEP address (onlink), the VTEP's neighbour entry, and the forwarding entry to the peer's address. Idempotent.
 */
export function ensureVxlan(node: NodeNetwork, peers: readonly PeerNode[]): void {
  const own = podSubnet(node.podCidr);
  if (!linkExists(node, vxlanName)) {
    ip(node, [
      'link',
      'add',
      vxlanName,
      'address',
      vtepMac(node.nodeIp),
      'type',
      'vxlan',
      'id',
      '1',
      'local',
      node.nodeIp,
      'dev',
      node.uplink,
      'dstport',
      '8472',
      'nolearning',
    ]);
  }
  if (!hasAddress(node, vxlanName, `${own.network}/32`)) {
    ip(node, ['addr', 'add', `${own.network}/32`, 'dev', vxlanName]);
  }
  ip(node, ['link', 'set', vxlanName, 'mtu', String(vxlanMtu), 'up']);
  for (const peer of peers) {
    if (peer.nodeIp === node.nodeIp) continue;
    const subnet = podSubnet(peer.podCidr);
    const mac = vtepMac(peer.nodeIp);
    ip(node, ['neigh', 'replace', subnet.network, 'lladdr', mac, 'dev', vxlanName, 'nud', 'permanent']);
    bridgeCommand(node, ['fdb', 'replace', mac, 'dev', vxlanName, 'dst', peer.nodeIp, 'self', 'permanent']);
    ip(node, [
      'route',
      'replace',
      `${subnet.network}/${subnet.prefixLength}`,
      'via',
      subnet.network,
      'dev',
      vxlanName,
      'onlink',
    ]);
  }
}

/** The name flannel's CNI gives the host end: "veth" and 8 hex digits (an interface name has at most 15 bytes). */
function names(podUid: string): { netns: string; hostVeth: string } {
  const digest = createHash('sha256').update(podUid).digest('hex');
  return { netns: `cni-${digest.slice(0, 12)}`, hostVeth: `veth${digest.slice(0, 8)}` };
}

function recordPath(node: SandboxStore, podUid: string): string {
  return join(node.stateDir, 'sandboxes', `${podUid}.json`);
}

function ipamDir(node: SandboxStore): string {
  return join(node.stateDir, 'networks', 'cbr0');
}

export function readSandbox(node: SandboxStore, podUid: string): Sandbox | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(node, podUid), 'utf8')) as Sandbox;
  } catch {
    return undefined;
  }
}

function writeSandbox(node: SandboxStore, sandbox: Sandbox): void {
  mkdirSync(join(node.stateDir, 'sandboxes'), { recursive: true });
  writeFileSync(recordPath(node, sandbox.podUid), JSON.stringify(sandbox));
}

/** The pod uids that have a sandbox. */
export function sandboxUids(node: SandboxStore): string[] {
  const dir = join(node.stateDir, 'sandboxes');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length));
}

/** host-local IPAM: the first free address of the podCIDR, taken by creating its file exclusively. */
function allocateAddress(node: NodeNetwork, podUid: string): string {
  const subnet = podSubnet(node.podCidr);
  const dir = ipamDir(node);
  mkdirSync(dir, { recursive: true });
  for (let n = subnet.first; n <= subnet.last; n++) {
    const address = toAddress(n);
    try {
      writeFileSync(join(dir, address), podUid, { flag: 'wx' });
      return address;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`no free address left in ${node.podCidr}`);
}

function releaseAddress(node: SandboxStore, address: string, podUid: string): void {
  const file = join(ipamDir(node), address);
  try {
    if (readFileSync(file, 'utf8') === podUid) rmSync(file);
  } catch {
    // Already released.
  }
}

/** The pod's namespace, veth and address; the existing one when the pod has one already. */
export function createSandbox(node: NodeNetwork, podUid: string): Sandbox {
  const existing = readSandbox(node, podUid);
  if (existing) return existing;
  ensureBridge(node);
  const subnet = podSubnet(node.podCidr);
  const { netns, hostVeth } = names(podUid);
  const address = allocateAddress(node, podUid);
  const sandbox: Sandbox = { podUid, netns, ip: address, hostVeth };
  writeSandbox(node, sandbox);
  const pod: NodeNetwork = { ...node, netns };
  execFileSync('ip', ['netns', 'add', netns], { stdio: ['ignore', 'ignore', 'pipe'] });
  ip(node, ['link', 'add', hostVeth, 'mtu', String(vxlanMtu), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  ip(node, ['link', 'set', hostVeth, 'master', bridgeName, 'up']);
  ip(pod, ['link', 'set', 'lo', 'up']);
  ip(pod, ['addr', 'add', `${address}/${subnet.prefixLength}`, 'dev', 'eth0']);
  ip(pod, ['link', 'set', 'eth0', 'up']);
  ip(pod, ['route', 'add', 'default', 'via', subnet.gateway, 'dev', 'eth0']);
  return sandbox;
}

export interface ContainerProcess {
  argv: readonly string[];
  /** The pod's hostname (the kubelet gives a pod its name), in a UTS namespace of the container's own. */
  hostname: string;
  uid: number;
  gid: number;
  logFile: string;
}

/** The program's path: as given when it has a slash, else the first executable of that name on PATH. */
function programPath(name: string): string {
  if (name.includes('/')) return name;
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  throw new Error(`${name}: not found on PATH`);
}

/**
 * Starts the container's program in the sandbox's network namespace and a UTS namespace named after the pod, as
 * uid:gid, in a process group of its own. The program
 * is opened here, as root, and executed through /proc/self/fd/3: the lab's programs sit under a directory only root
 * may enter (as an image's files sit where only containerd looks), and that path needs no directory search.
 */
export function startContainer(node: NodeNetwork, sandbox: Sandbox, container: ContainerProcess): number {
  const [program, ...args] = container.argv;
  if (!program) throw new Error(`no program to start in ${sandbox.netns}`);
  const log = openSync(container.logFile, 'a');
  const executable = openSync(programPath(program), 'r');
  try {
    const child = spawn(
      'nsenter',
      [
        `--net=/run/netns/${sandbox.netns}`,
        '--',
        'unshare',
        '--uts',
        '--',
        'sh',
        '-c',
        'printf %s "$1" > /proc/sys/kernel/hostname && shift && exec "$@"',
        'sh',
        container.hostname,
        'setpriv',
        `--reuid=${container.uid}`,
        `--regid=${container.gid}`,
        '--clear-groups',
        '--',
        '/proc/self/fd/3',
        ...args,
      ],
      { stdio: ['ignore', log, log, executable], detached: true },
    );
    child.unref();
    if (!child.pid) throw new Error(`cannot start ${container.argv.join(' ')} in ${sandbox.netns}`);
    writeSandbox(node, { ...sandbox, pid: child.pid });
    return child.pid;
  } finally {
    closeSync(log);
    closeSync(executable);
  }
}

/** The container's process exists and is not a zombie waiting for its parent. */
export function containerAlive(sandbox: Sandbox): boolean {
  if (!sandbox.pid) return false;
  try {
    const stat = readFileSync(`/proc/${sandbox.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Stops the container (its whole process group), removes the namespace, the veth and the address. */
export function deleteSandbox(node: SandboxStore, podUid: string): void {
  const sandbox = readSandbox(node, podUid);
  if (!sandbox) return;
  if (sandbox.pid) {
    try {
      process.kill(-sandbox.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  try {
    execFileSync('ip', ['netns', 'del', sandbox.netns], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    // Already gone.
  }
  ipQuiet(node, ['link', 'del', sandbox.hostVeth]);
  releaseAddress(node, sandbox.ip, podUid);
  rmSync(recordPath(node, podUid), { force: true });
}
