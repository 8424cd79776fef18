import { ApiError } from './api-client.ts';
import { CliUsageError } from './cli-usage-error.ts';

/** A whole number flag within bounds, or a usage error naming the flag; undefined when the flag was not given. */
export function integerFlag(
  flag: string,
  raw: string | undefined,
  bounds: { min: number; max: number },
): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^[0-9]+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < bounds.min || value > bounds.max) {
    throw new CliUsageError(`${flag}: "${raw}" is not a whole number from ${bounds.min} to ${bounds.max}`);
  }
  return value;
}

/** A duration flag: seconds, or a number with s, m, h or d ("90m", "2h"); undefined when not given. */
export function durationFlag(
  flag: string,
  raw: string | undefined,
  bounds: { minSeconds: number; maxSeconds: number },
): number | undefined {
  if (raw === undefined) return undefined;
  const match = /^([0-9]+)([smhd]?)$/.exec(raw.trim());
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match?.[2] ?? ''] ?? 1;
  const seconds = match ? Number(match[1]) * unit : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < bounds.minSeconds || seconds > bounds.maxSeconds) {
    throw new CliUsageError(
      `${flag}: "${raw}" is not a duration from ${bounds.minSeconds} s to ${bounds.maxSeconds} s (seconds, or with s, m, h, d: 90m, 2h)`,
    );
  }
  return seconds;
}

/**
 * An API validation error in the words of the command line: each problem on a request field the CLI filled from a
 * flag names the flag ("--node: must match pattern …"); the union's bookkeeping ("must match a schema in anyOf",
 * "must be null" of the empty-body branch) is left out.
 */
export function inFlagTerms(error: unknown, flagOfField: Record<string, string>): unknown {
  if (!(error instanceof ApiError) || error.status !== 400 || !Array.isArray(error.details)) return error;
  const problems = (error.details as unknown[])
    .map(String)
    .filter((p) => !/^body: must (match a schema in anyOf|be null)$/.test(p))
    .map((p) => {
      const field = /^body\.([A-Za-z0-9]+)(?=[:.])/.exec(p)?.[1];
      const flag = field === undefined ? undefined : flagOfField[field];
      return flag ? `${flag}${p.slice(`body.${field}`.length)}` : p;
    });
  if (problems.length === 0) return error;
  return new CliUsageError(problems.join('; '));
}
