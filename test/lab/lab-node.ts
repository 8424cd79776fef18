// A lab node: a network namespace with private mount and UTS namespaces, held open by one process, with its own
// /etc, /var/lib, /var/log, /run, /usr/libexec and hostname. Commands run in it through nsenter with the stand-ins
// first on PATH.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { capturedOutput } from '../support/run-command.ts';
import { stopNodeFirewalld } from './lab-firewalld.ts';

export const labPrefix = 'khlab-';
export const standInsBin = fileURLToPath(new URL('./stand-ins/bin', import.meta.url));
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The project's Node 24 (system node may be older and cannot run .ts). */
const maskedPrefixes = ['/etc/', '/var/lib/', '/var/log/', '/root/', '/tmp/', '/usr/libexec/', '/run/'];
export const projectNodeBin = join(projectRoot, 'node_modules', '.bin');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command in the node and returns its stdout; a failure throws, naming the node, the command, its exit code
 * and what it printed.
 */
export async function runOk(node: LabNode, command: string, args: string[], input?: string): Promise<string> {
  const result = await node.run(command, args, input === undefined ? {} : { input });
  if (result.code !== 0) {
    throw new Error(
      `${node.name}: ${command} ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}

/** Pids of every process whose network namespace is `netns`. */
export function netnsPids(netns: string): number[] {
  const result = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' });
  if (result.status !== 0) return [];
  return result.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Every namespace name under /run/netns that starts with the given prefix. */
export function listNetns(prefix: string): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
}

const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Signals the pids (re-read each round) with SIGTERM, then SIGKILL, waiting up to 2 s each. */
export async function killAll(pids: () => number[]): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
    for (let i = 0; i < 50 && pids().length > 0; i++) await sleepMs(40);
    if (pids().length === 0) return;
  }
}

/**
 * `ip netns exec` mounts a fresh /sys, without the cgroup hierarchies under /sys/fs/cgroup that a machine has (and
 * that kubeadm's SystemVerification reads from /proc/mounts): the node mounts the host's hierarchies again.
 */
function cgroupMounts(): string[] {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(
      ([, path, type]) =>
        path?.startsWith('/sys/fs/cgroup') &&
        (type === 'cgroup' || type === 'cgroup2' || (type === 'tmpfs' && path === '/sys/fs/cgroup')),
    );
  return mounts.map(([, path, type, options]) => {
    const opts = (options ?? '').split(',').filter((o) => !['rw', 'relatime', 'nosuid', 'nodev', 'noexec'].includes(o));
    return `mkdir -p '${path}' && mount -t ${type} ${opts.length > 0 ? `-o '${opts.join(',')}' ` : ''}${type === 'tmpfs' ? 'tmpfs' : 'cgroup'} '${path}'`;
  });
}

/** One machine of the lab. */
export class LabNode {
  readonly name: string;
  readonly address: string;
  readonly netns: string;
  /** The node's files on the host: etc/, var-lib/, var-log/, libexec-upper/. */
  readonly dir: string;
  holderPid = 0;
  /** The inode of the node's network namespace, to find its processes after the namespace handle is gone. */
  netnsInode = 0;
  /** The node's mount namespace ("mnt:[N]"): its pods' processes are in it, in network namespaces of their own. */
  mountNs = '';
  /** The real Kubernetes programs, first on the node's PATH (a real-control-plane lab); none in the stand-in lab. */
  readonly realBin: string | undefined;
  /** Programs of this node only, ahead of everything else on its PATH (set before its agent starts). */
  ownBin: string | undefined;
  private holder: ChildProcess | undefined;

  constructor(name: string, address: string, netns: string, dir: string, realBin?: string) {
    this.name = name;
    this.address = address;
    this.netns = netns;
    this.dir = dir;
    this.realBin = realBin;
  }

  /** The PATH inside the node: the real programs, the stand-ins, then the project's Node 24, then the system. */
  path(): string {
    return [
      ...(this.ownBin ? [this.ownBin] : []),
      ...(this.realBin ? [this.realBin] : []),
      standInsBin,
      projectNodeBin,
      '/usr/local/sbin',
      '/usr/local/bin',
      '/usr/sbin',
      '/usr/bin',
      '/sbin',
      '/bin',
    ].join(':');
  }

  /** Starts the process that holds the node's mount and UTS namespaces and sets them up. */
  async start(): Promise<void> {
    // A checkout under /tmp, /root, /var/lib... (CI clones anywhere) would be hidden by the node's own mounts: it is
    // kept aside first and put back after, so the stand-ins and the project's Node stay on the node's PATH.
    const projectHidden = maskedPrefixes.some((prefix) => projectRoot.startsWith(prefix));
    const script = [
      'set -e',
      ...(projectHidden
        ? [`mkdir -p "${this.dir}/project"`, `mount --bind "${projectRoot}" "${this.dir}/project"`]
        : []),
      `mount --bind "${this.dir}/etc" /etc`,
      `mount --bind "${this.dir}/var-lib" /var/lib`,
      `mount --bind "${this.dir}/var-log" /var/log`,
      `mount --bind "${this.dir}/root" /root`,
      'mount -t tmpfs -o mode=1777 tmpfs /tmp',
      `mount -t overlay overlay -o lowerdir=/usr/libexec,upperdir="${this.dir}/libexec-upper",workdir="${this.dir}/libexec-work" /usr/libexec`,
      'mount -t tmpfs -o mode=0755 tmpfs /run',
      // The node's own view of loaded modules, so a module "loaded" in one node is not loaded in the host or another.
      'modules=$(ls /sys/module)',
      'mount -t tmpfs -o mode=0755 tmpfs /sys/module',
      'for m in $modules; do mkdir "/sys/module/$m"; done',
      'mkdir -p /run/lock /run/kubeha',
      ...cgroupMounts(),
      ...(projectHidden ? [`mkdir -p "${projectRoot}"`, `mount --bind "${this.dir}/project" "${projectRoot}"`] : []),
      `hostname "${this.name}"`,
      'echo "$$"',
      'exec sleep infinity',
    ].join('\n');
    const holder = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.netns,
        'unshare',
        '--mount',
        '--uts',
        '--propagation',
        'private',
        '--fork',
        'sh',
        '-c',
        script,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.holder = holder;
    let stderr = '';
    holder.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    this.holderPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`node ${this.name}: the namespace holder did not start`)),
        10_000,
      );
      holder.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) {
          clearTimeout(timer);
          resolve(Number(line.trim()));
        }
      });
      holder.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`node ${this.name}: the namespace holder exited with ${code}: ${stderr.trim()}`));
      });
    });
    this.mountNs = readlinkSync(`/proc/${this.holderPid}/ns/mnt`);
    holder.stdout?.removeAllListeners('data');
    holder.stdout?.resume();
    holder.removeAllListeners('exit');
  }

  /** The argv that runs `command args` inside the node (network, mount and UTS namespaces, the node's PATH). */
  argv(command: string, args: readonly string[], env: Record<string, string> = {}): string[] {
    const envArgs = Object.entries({ PATH: this.path(), HOME: '/root', ...env }).map(([k, v]) => `${k}=${v}`);
    return [
      'nsenter',
      '--target',
      String(this.holderPid),
      '--mount',
      '--uts',
      '--net',
      '--',
      'env',
      ...envArgs,
      command,
      ...args,
    ];
  }

  /** Runs a command in the node to completion. */
  run(
    command: string,
    args: readonly string[] = [],
    options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<RunResult> {
    const [bin, ...rest] = this.argv(command, args, options.env);
    return new Promise((resolve) => {
      const child = spawn(bin as string, rest, { stdio: ['pipe', 'pipe', 'pipe'], cwd: projectRoot });
      const output = capturedOutput(child);
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : -1), stdout: output.stdout, stderr: output.stderr });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(options.input ?? '');
    });
  }

  /** Starts a long-running process in the node; it dies with the node at teardown. */
  spawn(command: string, args: readonly string[] = [], env: Record<string, string> = {}): ChildProcess {
    const [bin, ...rest] = this.argv(command, args, env);
    return spawn(bin as string, rest, { stdio: ['ignore', 'pipe', 'pipe'], cwd: projectRoot });
  }

  /** Starts a daemon in the node with its output appended to a log file in the node; it outlives this process. */
  daemon(command: string, args: readonly string[], logFile: string, env: Record<string, string> = {}): number {
    const quoted = [command, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const [bin, ...rest] = this.argv('sh', ['-c', `exec ${quoted} >>'${logFile}' 2>&1`], env);
    const child = spawn(bin as string, rest, { stdio: 'ignore', detached: true, cwd: projectRoot });
    child.unref();
    return child.pid ?? 0;
  }

  /** A path inside the node, as the host sees it (for /etc, /var/lib, /var/log and /root only). */
  hostPath(nodePath: string): string {
    for (const [inside, outside] of [
      ['/etc', 'etc'],
      ['/var/lib', 'var-lib'],
      ['/var/log', 'var-log'],
      ['/root', 'root'],
    ] as const) {
      if (nodePath === inside || nodePath.startsWith(`${inside}/`)) {
        return join(this.dir, outside, nodePath.slice(inside.length));
      }
    }
    throw new Error(`${nodePath} is not under /etc, /var/lib, /var/log or /root`);
  }

  /** Kills every process in the node's network namespace (the holder last, which drops its mounts). */
  async stopProcesses(): Promise<void> {
    await stopNodeFirewalld(this.holderPid);
    await killAll(() => netnsPids(this.netns).filter((p) => p !== this.holderPid));
    await killAll(() => processesInMountNs(this.mountNs).filter((p) => p !== this.holderPid));
    await killAll(() => netnsPids(this.netns));
    this.holder?.kill('SIGKILL');
  }
}

/** Pids whose network namespace has the given inode (a scan of /proc). */
export function processesInNetns(inode: number): number[] {
  if (!inode) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === `net:[${inode}]`) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Pids whose mount namespace is `mountNs` ("mnt:[N]"; none for ''): a node's processes in pod network namespaces too. */
export function processesInMountNs(mountNs: string): number[] {
  // Never the machine's own mount namespace (a process that entered only a node's network namespace has it).
  if (!mountNs || mountNs === readlinkSync('/proc/self/ns/mnt')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/mnt`) === mountNs) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
