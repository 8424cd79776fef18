import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { NodeFacts } from '../../proto/convert.ts';

export interface ExecOptions {
  /** Kills the command after this long; the failure says it timed out. */
  timeoutMs?: number;
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
  signal?: AbortSignal;
  /** When true a non-zero exit is returned, not thrown. */
  allowFailure?: boolean;
  /** Each line as it arrives, for step log lines (the caller redacts). */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface ExecResult {
  /** The command line as one printable string (arguments quoted where needed), for messages. */
  commandLine: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Numeric owner of a file (0:0 is root). */
export interface FileOwner {
  uid: number;
  gid: number;
}

export interface WriteResult {
  /** True when the bytes changed (or the file was created); a mode-only fix is reported in modeChanged. */
  changed: boolean;
  modeChanged: boolean;
}

/**
 * The only door to the machine. Steps never import node:fs or execa; tests use the recording fake Host.
 * Commands are an executable and an argument array, never a shell string.
 */
export interface Host {
  exec(command: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** The file's text, or undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Temp file, fsync, rename; keeps one `<path>.kubeha.bak` of the previous content; no write when the bytes are equal (the mode is still reconciled). */
  writeFileAtomic(path: string, content: string, mode: number): Promise<WriteResult>;
  exists(path: string): Promise<boolean>;
  /** Removes a file or a directory tree; no error when absent. */
  remove(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** A file's bytes in pieces of at most `chunkBytes`, read as they are consumed (for files too large to hold). */
  readChunks(path: string, chunkBytes: number): AsyncIterable<Uint8Array>;
  /** Entry names in a directory; empty when it does not exist. */
  listDir(path: string): Promise<string[]>;
  mkdir(path: string, mode: number): Promise<void>;
  /** The file's permission bits, or undefined when it does not exist. */
  fileMode(path: string): Promise<number | undefined>;
  /** The file's owner, or undefined when it does not exist. */
  fileOwner(path: string): Promise<FileOwner | undefined>;
  chown(path: string, owner: FileOwner): Promise<void>;
  facts(): Promise<NodeFacts>;
}

/** How many stderr lines a failure carries. */
export const stderrTailLines = 20;

/** The last `stderrTailLines` non-empty lines of a command's stderr. */
export function stderrTail(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-stderrTailLines)
    .join('\n');
}

/** `cmd arg 'arg with space'` — for messages only; commands never go through a shell. */
export function formatCommandLine(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** A command exited non-zero (or timed out, or was cancelled): carries what an operator needs to act. */
export class CommandFailedError extends KubehaError {
  readonly commandLine: string;
  readonly exitCode: number;
  readonly stderrTail: string;
  readonly timedOut: boolean;
  readonly cancelled: boolean;

  constructor(
    commandLine: string,
    exitCode: number,
    stderrTail: string,
    options: { timedOut?: boolean; cancelled?: boolean; cause?: unknown } = {},
  ) {
    super(
      ErrorCode.commandFailed,
      options.timedOut
        ? `${commandLine} timed out`
        : options.cancelled
          ? `${commandLine} was cancelled`
          : `${commandLine} exited with ${exitCode}${stderrTail ? `: ${stderrTail.split('\n').slice(-1)[0]}` : ''}`,
      { details: { command: commandLine, exitCode, stderrTail }, cause: options.cause },
    );
    this.commandLine = commandLine;
    this.exitCode = exitCode;
    this.stderrTail = stderrTail;
    this.timedOut = options.timedOut ?? false;
    this.cancelled = options.cancelled ?? false;
  }
}
