import { randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import type { NodeFacts } from '../../proto/convert.ts';
import {
  CommandFailedError,
  type ExecOptions,
  type ExecResult,
  type FileOwner,
  formatCommandLine,
  type Host,
  stderrTail,
  type WriteResult,
} from './host.ts';
import { localFiles } from './local-files.ts';

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Splits a stream into lines for onLine; a partial last line is flushed at the end. */
function lineSplitter(emit: (line: string) => void): { push(chunk: Buffer | string): void; flush(): void } {
  let rest = '';
  return {
    push(chunk) {
      rest += chunk.toString();
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) emit(line);
    },
    flush() {
      if (rest) emit(rest);
      rest = '';
    },
  };
}

/** The real machine: commands through execa with argument arrays, files written atomically. */
export class LocalHost implements Host {
  private readonly gatherFacts: () => Promise<NodeFacts>;
  private readonly defaultTimeoutMs: number;
  private selinux: boolean | undefined;

  constructor(options: { facts: () => Promise<NodeFacts>; defaultTimeoutMs?: number }) {
    this.gatherFacts = options.facts;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 15 * 60_000;
  }

  async exec(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const commandLine = formatCommandLine(command, args);
    if (options.signal?.aborted) throw new CommandFailedError(commandLine, -1, '', { cancelled: true });
    const subprocess = execa(command, [...args], {
      reject: false,
      stripFinalNewline: false,
      // Its own process group, so a timeout or a cancel kills the children too (dnf, sh -c ...), not only the leader.
      detached: true,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
      // Output we parse must not be translated.
      env: { LC_ALL: 'C', ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stopped: 'timedOut' | 'cancelled' | undefined;
    let forceKill: NodeJS.Timeout | undefined;
    const killGroup = (why: 'timedOut' | 'cancelled') => {
      if (stopped || subprocess.pid === undefined) return;
      stopped = why;
      const pid = subprocess.pid;
      const signalGroup = (signal: NodeJS.Signals) => {
        try {
          process.kill(-pid, signal);
        } catch {
          // Already gone.
        }
      };
      signalGroup('SIGTERM');
      forceKill = setTimeout(() => signalGroup('SIGKILL'), 5_000);
    };
    const timer = setTimeout(() => killGroup('timedOut'), options.timeoutMs ?? this.defaultTimeoutMs);
    const onAbort = () => killGroup('cancelled');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.onLine) {
      const onLine = options.onLine;
      const out = lineSplitter((l) => onLine('stdout', l));
      const err = lineSplitter((l) => onLine('stderr', l));
      subprocess.stdout?.on('data', (c: Buffer) => out.push(c));
      subprocess.stderr?.on('data', (c: Buffer) => err.push(c));
      subprocess.stdout?.on('end', () => out.flush());
      subprocess.stderr?.on('end', () => err.flush());
    }
    let result: Awaited<typeof subprocess>;
    try {
      result = await subprocess;
    } finally {
      clearTimeout(timer);
      clearTimeout(forceKill);
      options.signal?.removeEventListener('abort', onAbort);
    }
    const stdout = typeof result.stdout === 'string' ? result.stdout : '';
    const stderr = typeof result.stderr === 'string' ? result.stderr : '';
    if (stopped) {
      throw new CommandFailedError(commandLine, result.exitCode ?? -1, stderrTail(stderr), {
        timedOut: stopped === 'timedOut',
        cancelled: stopped === 'cancelled',
      });
    }
    const notFound = (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    const exitCode = notFound ? 127 : (result.exitCode ?? -1);
    const tail = notFound ? `${command}: command not found` : stderrTail(stderr);
    if (exitCode !== 0 && !options.allowFailure) throw new CommandFailedError(commandLine, exitCode, tail);
    return { commandLine, exitCode, stdout, stderr: notFound ? tail : stderr };
  }

  private async selinuxEnabled(): Promise<boolean> {
    this.selinux ??= await this.exists('/sys/fs/selinux/enforce');
    return this.selinux;
  }

  async readFile(path: string): Promise<string | undefined> {
    return localFiles.readFile(path);
  }

  async writeFileAtomic(path: string, content: string, mode: number): Promise<WriteResult> {
    const old = await this.readFile(path);
    const oldStat = old === undefined ? undefined : await stat(path);
    if (old === content && oldStat) {
      const modeChanged = (oldStat.mode & 0o7777) !== mode;
      if (modeChanged) await chmod(path, mode);
      return { changed: false, modeChanged };
    }
    const dir = dirname(path);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const temp = join(dir, `.${basename(path)}.kubeha-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const handle = await open(temp, 'wx', mode);
      try {
        await handle.writeFile(content, 'utf8');
        await handle.chmod(mode);
        if (oldStat) await handle.chown(oldStat.uid, oldStat.gid).catch(() => {});
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (oldStat) await copyFile(path, `${path}.kubeha.bak`);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    // A renamed temp file carries the directory's SELinux label (etc_t), not the one policy gives the path
    // (net_conf_t for /etc/hosts, ...); an enforcing host would then deny its readers.
    if (await this.selinuxEnabled()) await this.exec('restorecon', [path], { allowFailure: true });
    return { changed: true, modeChanged: oldStat !== undefined && (oldStat.mode & 0o7777) !== mode };
  }

  async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(from, to);
  }

  async *readChunks(path: string, chunkBytes: number): AsyncIterable<Uint8Array> {
    const handle = await open(path, 'r');
    try {
      for (;;) {
        const buffer = Buffer.allocUnsafe(chunkBytes);
        const { bytesRead } = await handle.read(buffer, 0, chunkBytes, null);
        if (bytesRead === 0) return;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await handle.close();
    }
  }

  async listDir(path: string): Promise<string[]> {
    return localFiles.listDir(path);
  }

  async mkdir(path: string, mode: number): Promise<void> {
    await mkdir(path, { recursive: true, mode });
  }

  async fileMode(path: string): Promise<number | undefined> {
    try {
      return (await stat(path)).mode & 0o7777;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async fileOwner(path: string): Promise<FileOwner | undefined> {
    try {
      const { uid, gid } = await stat(path);
      return { uid, gid };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async chown(path: string, owner: FileOwner): Promise<void> {
    await chown(path, owner.uid, owner.gid);
  }

  async facts(): Promise<NodeFacts> {
    return this.gatherFacts();
  }
}
