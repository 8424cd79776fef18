import { type ChildProcess, type ExecFileOptions, execFile } from 'node:child_process';
import { join } from 'node:path';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The kubeha CLI's entry point, run with the test's Node. */
export const kubehaCliMain = join(import.meta.dirname, '..', '..', 'coordinator', 'cli', 'main.ts');

/**
 * Runs a command to its end (60 s at the most) and resolves with its exit code and output, also when it fails: the
 * tests assert on the code. `started` sees the child, to answer what it asks on stdin.
 */
export function runCommand(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; started?: (child: ChildProcess) => void } = {},
): Promise<CommandResult> {
  const execOptions: ExecFileOptions = { timeout: 60_000, ...(options.env ? { env: options.env } : {}) };
  return new Promise((resolve) => {
    const child = execFile(file, args, execOptions, (error, stdout, stderr) =>
      resolve({
        code: error ? Number((error as { code?: number }).code ?? 1) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      }),
    );
    options.started?.(child);
  });
}

/** `kubeha --server URL ARGS` against a coordinator, as its admin (KUBEHA_TOKEN), with `env` added. */
export function runKubehaCli(
  coordinator: { apiUrl: string; adminToken: string },
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CommandResult> {
  return runCommand(process.execPath, [kubehaCliMain, '--server', coordinator.apiUrl, ...args], {
    env: { ...process.env, KUBEHA_TOKEN: coordinator.adminToken, ...env },
  });
}

/** What a child process has written so far to stdout and to stderr. */
export function capturedOutput(child: Pick<ChildProcess, 'stdout' | 'stderr'>): { stdout: string; stderr: string } {
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  return output;
}
