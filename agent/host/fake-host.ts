/**
 * A recording fake Host for step tests (modelled on undici's MockAgent): it refuses every command nobody
 * expected, records what ran and what was written, and can assert that nothing expected is left pending.
 *
 *   const host = new FakeHost({ files: { '/etc/os-release': rocky9 }, facts: { cpuCount: 4 } });
 *   host.expect('systemctl', ['enable', '--now', 'kubelet']);                    // once, exit 0, no output
 *   host.expect('getenforce', [], { stdout: 'Enforcing\n' });                    // once, with output
 *   host.expect('modprobe', ['br_netfilter'], { effect: (h) => h.setFile('/sys/module/br_netfilter', '') });
 *   host.stub('ss', ['-H', '-tlnp'], { stdout: '' });                            // any number of times
 *   host.stub('getenforce', [], { stdout: () => state.selinux });                // output computed when it runs
 *   host.expect('dnf', ['install', '-y', 'x'], { exitCode: 1, stderr: 'No match' }); // fails like the real one
 *   host.expect('sleep', ['9'], { hang: true });                                 // resolves only on abort
 *   ... run the step ...
 *   host.commandLines()   // ['systemctl enable --now kubelet', ...] in order
 *   host.writes           // [{ path, content, mode }] for every write whose bytes or mode changed
 *   host.assertNoPendingExpectations();
 *
 * Expectations are matched on the exact command and argument array; among several for the same command line
 * the oldest pending one answers first, then the latest stub (so a test can override a stub). A non-zero exit
 * throws CommandFailedError unless the caller passed allowFailure, exactly as the LocalHost does.
 */
import { ErrorCode, KubehaError } from '../../common/errors.ts';
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

export interface FakeReply {
  /** Functions read the fake machine's state at the time the command runs. */
  exitCode?: number | ((host: FakeHost) => number);
  stdout?: string | ((host: FakeHost) => string);
  stderr?: string;
  /** Changes the fake machine when the command runs (a package appears, a module loads, ...). */
  effect?: (host: FakeHost) => void;
  /** Never finishes on its own: resolves as killed once the caller's signal aborts. */
  hang?: boolean;
}

export interface RecordedCommand {
  command: string;
  args: string[];
  commandLine: string;
}

export interface RecordedWrite {
  path: string;
  content: string;
  mode: number;
}

interface Expectation {
  command: string;
  args: string[];
  reply: FakeReply;
  persistent: boolean;
  used: boolean;
}

interface FakeFile {
  content: string;
  mode: number;
  owner: FileOwner;
}

/** The agent runs as root: what it creates is root's. */
const root: FileOwner = { uid: 0, gid: 0 };

export const defaultFakeFacts: NodeFacts = {
  hostname: 'node1',
  osId: 'rocky',
  osVersionId: '9.4',
  osPrettyName: 'Rocky Linux 9.4 (Blue Onyx)',
  kernel: '5.14.0-427.13.1.el9_4.x86_64',
  arch: 'x64',
  cpuCount: 4,
  memoryBytes: 8 * 1024 ** 3,
  swapBytes: 0,
  interfaces: [{ name: 'eth0', mac: '52:54:00:12:34:56', addresses: ['192.168.1.10/24'], virtual: false }],
  productUuid: '4c4c4544-0042-3510-8052-b4c04f4e4432',
  machineId: 'f0e1d2c3b4a5968778695a4b3c2d1e0f',
  defaultRouteInterface: 'eth0',
  cgroupVersion: 2,
};

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export class FakeHost implements Host {
  readonly commands: RecordedCommand[] = [];
  readonly writes: RecordedWrite[] = [];
  /** Command lines that were refused because nobody expected them. */
  readonly unexpected: string[] = [];
  readonly removed: string[] = [];
  /** Every chown, as "path uid:gid". */
  readonly chowns: string[] = [];
  factsValue: NodeFacts;
  private readonly files = new Map<string, FakeFile>();
  private readonly dirs = new Set<string>();
  private readonly expectations: Expectation[] = [];

  constructor(init: { files?: Record<string, string>; facts?: Partial<NodeFacts> } = {}) {
    for (const [path, content] of Object.entries(init.files ?? {})) this.setFile(path, content);
    this.factsValue = { ...defaultFakeFacts, ...init.facts };
  }

  /** A command expected exactly once (per call of expect). */
  expect(command: string, args: readonly string[], reply: FakeReply = {}): this {
    this.expectations.push({ command, args: [...args], reply, persistent: false, used: false });
    return this;
  }

  /** A command allowed any number of times (read-only probes). */
  stub(command: string, args: readonly string[], reply: FakeReply = {}): this {
    this.expectations.push({ command, args: [...args], reply, persistent: true, used: false });
    return this;
  }

  setFile(path: string, content: string, mode = 0o644, owner: FileOwner = root): this {
    this.files.set(path, { content, mode, owner });
    return this;
  }

  deleteFile(path: string): this {
    this.files.delete(path);
    return this;
  }

  /** The file's content now, or undefined. */
  file(path: string): string | undefined {
    return this.files.get(path)?.content;
  }

  commandLines(): string[] {
    return this.commands.map((c) => c.commandLine);
  }

  /** Once-only expectations that never ran, as command lines. */
  pendingExpectations(): string[] {
    return this.expectations.filter((e) => !e.persistent && !e.used).map((e) => formatCommandLine(e.command, e.args));
  }

  assertNoPendingExpectations(): void {
    const pending = this.pendingExpectations();
    const problems = [
      ...(pending.length > 0 ? [`expected but never run: ${pending.join(' | ')}`] : []),
      ...(this.unexpected.length > 0 ? [`run but not expected: ${this.unexpected.join(' | ')}`] : []),
    ];
    if (problems.length > 0) throw new Error(`FakeHost: ${problems.join('; ')}`);
  }

  /** Forgets what was recorded (keeps the machine state and the stubs), for a second run on the same state. */
  clearRecords(): void {
    this.commands.length = 0;
    this.writes.length = 0;
    this.removed.length = 0;
    this.chowns.length = 0;
  }

  async exec(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const commandLine = formatCommandLine(command, args);
    if (options.signal?.aborted) throw new CommandFailedError(commandLine, -1, '', { cancelled: true });
    const match =
      this.expectations.find((e) => !e.persistent && !e.used && e.command === command && sameArgs(e.args, args)) ??
      this.expectations.findLast((e) => e.persistent && e.command === command && sameArgs(e.args, args));
    if (!match) {
      this.unexpected.push(commandLine);
      throw new KubehaError(ErrorCode.internal, `FakeHost: unexpected command: ${commandLine}`);
    }
    match.used = true;
    this.commands.push({ command, args: [...args], commandLine });
    const reply = match.reply;
    if (reply.hang) {
      await new Promise<void>((resolve) => {
        if (!options.signal) return;
        options.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      throw new CommandFailedError(commandLine, -1, '', { cancelled: true });
    }
    reply.effect?.(this);
    const result: ExecResult = {
      commandLine,
      exitCode: typeof reply.exitCode === 'function' ? reply.exitCode(this) : (reply.exitCode ?? 0),
      stdout: typeof reply.stdout === 'function' ? reply.stdout(this) : (reply.stdout ?? ''),
      stderr: reply.stderr ?? '',
    };
    if (options.onLine) {
      for (const line of result.stdout.split('\n').filter(Boolean)) options.onLine('stdout', line);
      for (const line of result.stderr.split('\n').filter(Boolean)) options.onLine('stderr', line);
    }
    if (result.exitCode !== 0 && !options.allowFailure) {
      throw new CommandFailedError(commandLine, result.exitCode, stderrTail(result.stderr));
    }
    return result;
  }

  async readFile(path: string): Promise<string | undefined> {
    return this.files.get(path)?.content;
  }

  async writeFileAtomic(path: string, content: string, mode: number): Promise<WriteResult> {
    const old = this.files.get(path);
    const changed = old?.content !== content;
    const modeChanged = old !== undefined && !changed && old.mode !== mode;
    if (changed && old) this.files.set(`${path}.kubeha.bak`, { ...old });
    if (changed || modeChanged) this.writes.push({ path, content, mode });
    // Like the LocalHost, a rewrite keeps the file's owner.
    this.files.set(path, { content, mode, owner: old?.owner ?? root });
    return { changed, modeChanged };
  }

  async exists(path: string): Promise<boolean> {
    if (this.files.has(path) || this.dirs.has(path)) return true;
    const prefix = path.endsWith('/') ? path : `${path}/`;
    return [...this.files.keys()].some((p) => p.startsWith(prefix));
  }

  async remove(path: string): Promise<void> {
    const prefix = `${path}/`;
    for (const p of [...this.files.keys()]) if (p === path || p.startsWith(prefix)) this.files.delete(p);
    this.dirs.delete(path);
    this.removed.push(path);
  }

  async rename(from: string, to: string): Promise<void> {
    const file = this.files.get(from);
    if (!file) {
      // A directory: every file under it moves.
      const prefix = `${from}/`;
      const under = [...this.files.keys()].filter((p) => p.startsWith(prefix));
      if (under.length === 0 && !this.dirs.has(from)) {
        throw new KubehaError(ErrorCode.notFound, `FakeHost: rename: ${from} does not exist`);
      }
      for (const p of under) {
        this.files.set(`${to}/${p.slice(prefix.length)}`, this.files.get(p)!);
        this.files.delete(p);
      }
      if (this.dirs.delete(from)) this.dirs.add(to);
      return;
    }
    this.files.delete(from);
    this.files.set(to, file);
  }

  /** The file's text as UTF-8 bytes. */
  async *readChunks(path: string, chunkBytes: number): AsyncIterable<Uint8Array> {
    const file = this.files.get(path);
    if (!file) throw new KubehaError(ErrorCode.notFound, `FakeHost: read: ${path} does not exist`);
    const bytes = Buffer.from(file.content);
    for (let offset = 0; offset < bytes.length; offset += chunkBytes) yield bytes.subarray(offset, offset + chunkBytes);
  }

  async listDir(path: string): Promise<string[]> {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const names = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs]) {
      if (p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]!);
    }
    return [...names].filter(Boolean).sort();
  }

  async mkdir(path: string, _mode: number): Promise<void> {
    this.dirs.add(path);
  }

  async fileMode(path: string): Promise<number | undefined> {
    return this.files.get(path)?.mode;
  }

  async fileOwner(path: string): Promise<FileOwner | undefined> {
    const file = this.files.get(path);
    return file ? { ...file.owner } : undefined;
  }

  async chown(path: string, owner: FileOwner): Promise<void> {
    const file = this.files.get(path);
    if (!file) throw new KubehaError(ErrorCode.notFound, `FakeHost: chown: ${path} does not exist`);
    file.owner = { ...owner };
    this.chowns.push(`${path} ${owner.uid}:${owner.gid}`);
  }

  async facts(): Promise<NodeFacts> {
    return structuredClone(this.factsValue);
  }
}
