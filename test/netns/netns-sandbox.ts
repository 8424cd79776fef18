import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export async function sh(command: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { timeout: 15_000 });
  return stdout;
}

/** True when this process may create network namespaces and run keepalived (root with ip, keepalived, haproxy, curl). */
export async function canRunNetnsLab(): Promise<{ ok: boolean; reason: string }> {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root' };
  for (const tool of ['ip', 'keepalived', 'haproxy', 'curl']) {
    try {
      await sh('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return { ok: false, reason: `${tool} is not installed` };
    }
  }
  return { ok: true, reason: '' };
}

/**
 * Network namespaces and the processes in them, all named with one prefix (kha-<pid>-...) and all removed by
 * close(), which also runs when the test fails: it kills every process we started, then every process still inside
 * our namespaces (keepalived's VRRP child outlives a killed parent), then deletes the namespaces.
 */
export class NetnsSandbox {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();

  constructor(tag: string) {
    this.prefix = `kha-${process.pid}-${tag}`;
  }

  async addNamespace(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    await sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a short command inside a namespace and returns its stdout. */
  exec(ns: string, command: string, args: string[]): Promise<string> {
    return sh('ip', ['netns', 'exec', ns, command, ...args]);
  }

  /** Starts a long-running process inside a namespace; `ip netns exec` execs it, so the pid is the process's own. */
  spawn(ns: string, command: string, args: string[], onLine?: (line: string) => void): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    let buffer = '';
    const feed = (chunk: Buffer) => {
      buffer += chunk.toString();
      let at = buffer.indexOf('\n');
      while (at >= 0) {
        onLine?.(buffer.slice(0, at));
        buffer = buffer.slice(at + 1);
        at = buffer.indexOf('\n');
      }
    };
    child.stdout?.on('data', feed);
    child.stderr?.on('data', feed);
    return child;
  }

  /** Sends a signal and waits (bounded) for the process to exit. */
  async stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', waitMs = 5_000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), waitMs));
    if ((await Promise.race([exited, timer])) === 'late') {
      child.kill('SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.children].map((child) => this.stop(child, 'SIGTERM', 3_000)));
    for (const ns of [...this.namespaces].reverse()) {
      try {
        const pids = (await sh('ip', ['netns', 'pids', ns])).split(/\s+/).filter(Boolean).map(Number);
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      } catch {
        // the namespace is already gone
      }
      try {
        await sh('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    this.namespaces.length = 0;
  }
}
