// The lab's machines: network namespaces on a bridge that lives in a namespace of its own. Nothing the lab creates
// is visible on the host except the namespace handles under /run/netns and the lab's directory under /tmp.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installRealPrograms, type RealPrograms } from './kube-binaries.ts';
import { killAll, LabNode, labPrefix, listNetns, netnsPids, processesInMountNs, processesInNetns } from './lab-node.ts';
import { bootNode, installNodeImage } from './node-image.ts';

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function ipQuiet(args: string[]): boolean {
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}

export interface LabNetworkOptions {
  /** Short lowercase id; names are khlab-<id>-... */
  id: string;
  /** The first three octets of the lab's /24, e.g. "10.231.0". */
  subnet: string;
  /** Where node directories go; default /var/tmp/khlab-<id> (nodes get a private /tmp). */
  dir?: string;
  /** Run the real Kubernetes programs from this directory (kubelet and containerd stay stand-ins). */
  realBinaries?: RealPrograms;
}

export interface AddNodeOptions {
  /** Lay an EL9 machine's files into the node and start its enabled services (default true). */
  image?: boolean;
}

/** A bridge in its own namespace and the nodes plugged into it. */
export class LabNetwork {
  readonly id: string;
  readonly subnet: string;
  readonly dir: string;
  readonly bridgeNetns: string;
  readonly nodes: LabNode[] = [];
  /** The lab's own copy of the real programs, on every node's PATH; undefined in the stand-in lab. */
  readonly realBin: string | undefined;
  readonly kubernetesVersion: string | undefined;
  private tornDown = false;

  private constructor(options: LabNetworkOptions) {
    if (!/^[a-z0-9]{1,12}$/.test(options.id)) throw new Error(`lab id "${options.id}": 1-12 of [a-z0-9]`);
    if (!/^10\.\d{1,3}\.\d{1,3}$/.test(options.subnet)) throw new Error(`subnet "${options.subnet}": expected 10.X.Y`);
    this.id = options.id;
    this.subnet = options.subnet;
    this.dir = options.dir ?? `/var/tmp/${labPrefix}${options.id}`;
    this.bridgeNetns = `${labPrefix}${options.id}-bridge`;
    this.realBin = options.realBinaries ? join(this.dir, 'kube-bin') : undefined;
    this.kubernetesVersion = options.realBinaries?.kubernetesVersion;
  }

  /** The cluster store the stand-in apiservers share (the etcd stand-in). */
  get clusterDir(): string {
    return join(this.dir, 'cluster');
  }

  /** The namespace-name prefix of everything this lab creates. */
  get prefix(): string {
    return `${labPrefix}${this.id}-`;
  }

  static create(options: LabNetworkOptions): LabNetwork {
    const network = new LabNetwork(options);
    if (listNetns(network.prefix).length > 0) throw new Error(`a lab with id ${options.id} already exists`);
    mkdirSync(network.clusterDir, { recursive: true, mode: 0o700 });
    if (options.realBinaries && network.realBin) installRealPrograms(options.realBinaries.paths, network.realBin);
    ip(['netns', 'add', network.bridgeNetns]);
    ip(['-n', network.bridgeNetns, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', network.bridgeNetns, 'link', 'set', 'br0', 'up']);
    return network;
  }

  /** Adds a node with the given host number (address subnet.hostNumber/24) and starts its holder. */
  async addNode(name: string, hostNumber: number, options: AddNodeOptions = {}): Promise<LabNode> {
    if (!/^[a-z][a-z0-9-]{0,30}$/.test(name)) throw new Error(`node name "${name}" is not a lowercase hostname`);
    if (this.nodes.some((n) => n.name === name)) throw new Error(`node ${name} already exists`);
    const address = `${this.subnet}.${hostNumber}`;
    const netns = `${this.prefix}${name}`;
    const dir = join(this.dir, name);
    for (const sub of ['var-lib', 'var-log', 'root', 'libexec-upper', 'libexec-work']) {
      mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 });
    }
    cpSync('/etc', join(dir, 'etc'), { recursive: true, verbatimSymlinks: true });
    for (const sub of ['haproxy', 'keepalived', 'kubeha', 'kubelet', 'systemd-stand-in', 'etcd']) {
      mkdirSync(join(dir, 'var-lib', sub), { recursive: true });
    }
    const etc = join(dir, 'etc');
    // Removed first: a copied symlink would make the write land in the host's file.
    for (const [file, content] of [
      ['hostname', `${name}\n`],
      ['hosts', `127.0.0.1\tlocalhost\n${address}\t${name}\n`],
      ['machine-id', `${randomBytes(16).toString('hex')}\n`],
    ] as const) {
      rmSync(join(etc, file), { force: true });
      writeFileSync(join(etc, file), content);
    }
    const node = new LabNode(name, address, netns, dir, this.realBin);
    this.nodes.push(node);
    ip(['netns', 'add', netns]);
    const peer = `v${this.nodes.length}`;
    ip(['-n', netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', peer, 'netns', this.bridgeNetns]);
    ip(['-n', this.bridgeNetns, 'link', 'set', peer, 'master', 'br0', 'up']);
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
    ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
    node.netnsInode = statSync(`/run/netns/${netns}`).ino;
    if (options.image !== false) installNodeImage(node, this.clusterDir, this.kubernetesVersion);
    await node.start();
    if (options.image !== false) await bootNode(node);
    return node;
  }

  node(name: string): LabNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no lab node ${name}`);
    return node;
  }

  /** Stops every process, deletes every namespace and the lab directory; safe to call twice. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    await Promise.all(this.nodes.map((node) => node.stopProcesses()));
    for (const netns of listNetns(this.prefix)) {
      await killAll(() => netnsPids(netns));
      ipQuiet(['netns', 'del', netns]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** What of this lab is left on the machine: namespaces, mounts, processes, its directory. */
  leftovers(): string[] {
    const left: string[] = [];
    for (const netns of listNetns(this.prefix)) left.push(`namespace ${netns}`);
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((l) => l.includes(this.prefix) || l.includes(this.dir));
    for (const m of mounts) left.push(`mount ${m}`);
    for (const node of this.nodes) {
      for (const pid of new Set([...processesInNetns(node.netnsInode), ...processesInMountNs(node.mountNs)])) {
        left.push(`process ${pid} (in node ${node.name})`);
      }
    }
    if (existsSync(this.dir)) left.push(`directory ${this.dir}`);
    return left;
  }
}

/** Removes a lab by id (one left running with --keep): its processes, namespaces and directory. */
export async function teardownLab(id: string): Promise<string[]> {
  if (!/^[a-z0-9]{1,12}$/.test(id)) throw new Error(`lab id "${id}": 1-12 of [a-z0-9]`);
  const prefix = `${labPrefix}${id}-`;
  const inodes = listNetns(prefix).map((netns) => statSync(`/run/netns/${netns}`).ino);
  for (const netns of listNetns(prefix)) {
    // (the node's pods run in network namespaces of their own, in the node's mount namespace)
    const mountNamespaces = new Set(
      netnsPids(netns)
        .map(mountNsOf)
        .filter((m) => m !== ''),
    );
    for (const mountNs of mountNamespaces) await killAll(() => processesInMountNs(mountNs));
    await killAll(() => netnsPids(netns));
    ipQuiet(['netns', 'del', netns]);
  }
  const dir = `/var/tmp/${labPrefix}${id}`;
  rmSync(dir, { recursive: true, force: true });
  const left = listNetns(prefix).map((n) => `namespace ${n}`);
  for (const inode of inodes) for (const pid of processesInNetns(inode)) left.push(`process ${pid}`);
  if (existsSync(dir)) left.push(`directory ${dir}`);
  return left;
}

function mountNsOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return '';
  }
}
