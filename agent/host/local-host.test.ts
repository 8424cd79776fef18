import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { plannedStep } from '../step-execution/step.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { defaultFakeFacts } from './fake-host.ts';
import { CommandFailedError } from './host.ts';
import { LocalHost } from './local-host.ts';

let dir: string;
const host = new LocalHost({ facts: async () => defaultFakeFacts });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubeha-local-host-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('LocalHost.writeFileAtomic', () => {
  it('creates the file with its mode, keeps one .kubeha.bak, and skips equal bytes but fixes the mode', async () => {
    const path = join(dir, 'etc', 'x.conf');
    expect(await host.writeFileAtomic(path, 'one\n', 0o600)).toEqual({ changed: true, modeChanged: false });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await host.writeFileAtomic(path, 'two\n', 0o600)).toEqual({ changed: true, modeChanged: false });
    expect(readFileSync(`${path}.kubeha.bak`, 'utf8')).toBe('one\n');
    expect(readFileSync(path, 'utf8')).toBe('two\n');
    const mtime = statSync(path).mtimeMs;
    expect(await host.writeFileAtomic(path, 'two\n', 0o644)).toEqual({ changed: false, modeChanged: true });
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(statSync(path).mtimeMs).toBe(mtime);
    expect(readdirSync(join(dir, 'etc')).sort()).toEqual(['x.conf', 'x.conf.kubeha.bak']);
  });

  it('leaves the old file whole and no temp file when the rename fails', async () => {
    const path = join(dir, 'target');
    // A directory in the way makes rename(2) fail after the temp file was written.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'old');
    await expect(host.writeFileAtomic(path, 'new', 0o644)).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['target']);
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('old');
  });
});

describe('LocalHost.fileOwner and chown', () => {
  it('reads the numeric owner, changes it, and says undefined for a missing file', async () => {
    const path = join(dir, 'owned');
    writeFileSync(path, 'x');
    const mine = { uid: statSync(path).uid, gid: statSync(path).gid };
    expect(await host.fileOwner(path)).toEqual(mine);
    // Without root only one's own uid is allowed: chown to it, and to a gid that is already the file's.
    await host.chown(path, mine);
    expect(await host.fileOwner(path)).toEqual(mine);
    expect(await host.fileOwner(join(dir, 'absent'))).toBeUndefined();
  });
});

describe('LocalHost.exec', () => {
  it('runs an argument array without a shell', async () => {
    const result = await host.exec('printf', ['%s|', 'a b', '$(id)', ';rm']);
    expect(result.stdout).toBe('a b|$(id)|;rm|');
    expect(result.commandLine).toBe("printf '%s|' 'a b' '$(id)' ';rm'");
  });

  it('throws CommandFailedError with the exit code and the last 20 stderr lines', async () => {
    const error = await host
      .exec('sh', ['-c', 'for i in $(seq 1 30); do echo "err $i" >&2; done; exit 7'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    const failed = error as CommandFailedError;
    expect(failed.code).toBe(ErrorCode.commandFailed);
    expect(failed.exitCode).toBe(7);
    expect(failed.stderrTail.split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => `err ${i + 11}`));
  });

  it('returns a failure when allowFailure is set, and reports a missing command as exit 127', async () => {
    expect((await host.exec('sh', ['-c', 'exit 4'], { allowFailure: true })).exitCode).toBe(4);
    const missing = await host.exec('kubeha-no-such-command', [], { allowFailure: true });
    expect(missing.exitCode).toBe(127);
  });

  it('streams lines and kills the command on abort', async () => {
    const lines: string[] = [];
    const controller = new AbortController();
    const pending = host
      .exec('sh', ['-c', 'echo ready; sleep 30'], {
        signal: controller.signal,
        onLine: (stream, line) => {
          lines.push(`${stream}:${line}`);
          if (line === 'ready') controller.abort();
        },
      })
      .catch((e: unknown) => e);
    const error = (await pending) as CommandFailedError;
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error.cancelled).toBe(true);
    expect(lines).toEqual(['stdout:ready']);
  });

  it('kills the command and its children when the timeout passes', async () => {
    const error = (await host
      .exec('sh', ['-c', 'sleep 30; echo late'], { timeoutMs: 50 })
      .catch((e: unknown) => e)) as CommandFailedError;
    expect(error).toBeInstanceOf(CommandFailedError);
    expect(error.timedOut).toBe(true);
    expect(error.message).toContain('timed out');
  });
});

describe('a command failing in the middle of a step', () => {
  it('leaves every file either old or new, and the error carries command, exit code and stderr', async () => {
    const first = join(dir, 'first.conf');
    const second = join(dir, 'second.conf');
    writeFileSync(first, 'first old\n');
    writeFileSync(second, 'second old\n');
    const step = plannedStep<{ n: number }>({
      kind: 'two-files',
      parseParams: (raw) => raw as { n: number },
      async plan(ctx) {
        return [
          {
            description: 'write first',
            apply: async () => void (await ctx.host.writeFileAtomic(first, 'first new\n', 0o644)),
          },
          {
            description: 'run the failing command',
            apply: async () => void (await ctx.host.exec('sh', ['-c', 'echo "disk on fire" >&2; exit 3'])),
          },
          {
            description: 'write second',
            apply: async () => void (await ctx.host.writeFileAtomic(second, 'second new\n', 0o644)),
          },
        ];
      },
    });
    const result = await runStep(step, { n: 1 }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({
      command: 'sh -c \'echo "disk on fire" >&2; exit 3\'',
      exitCode: 3,
      stderrTail: 'disk on fire',
    });
    expect(readFileSync(first, 'utf8')).toBe('first new\n');
    expect(readFileSync(second, 'utf8')).toBe('second old\n');
    expect(readdirSync(dir).sort()).toEqual(['first.conf', 'first.conf.kubeha.bak', 'second.conf']);
  });
});
