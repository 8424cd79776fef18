import { readFileSync } from 'node:fs';

export interface SecretSources {
  /** The value given as `--NAME VALUE`: readable by every user of the machine in /proc/PID/cmdline. */
  flag?: string | undefined;
  /** `--NAME-file PATH`: the first line of that file. */
  file?: string | undefined;
  /** The environment variable's value. */
  env?: string | undefined;
}

export interface ResolvedSecret {
  value: string | undefined;
  /** Set when the secret came from the command line. */
  warning?: string;
}

/**
 * A secret from, in order, a file, the environment or the command line; the last one works but warns, because
 * other users see a process's arguments while it runs.
 */
export function resolveSecret(
  name: string,
  sources: SecretSources,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): ResolvedSecret {
  if (sources.file !== undefined) {
    let text: string;
    try {
      text = readFile(sources.file);
    } catch (error) {
      throw new Error(`--${name}-file ${sources.file}: ${(error as Error).message}`);
    }
    const value = text.split('\n')[0]?.trim() ?? '';
    if (value === '') throw new Error(`--${name}-file ${sources.file}: the file is empty`);
    return { value };
  }
  if (sources.env) return { value: sources.env };
  if (sources.flag !== undefined) {
    return {
      value: sources.flag,
      warning: `--${name} on the command line is visible to every user of this machine while the command runs; prefer --${name}-file or the environment`,
    };
  }
  return { value: undefined };
}
