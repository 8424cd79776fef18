import { ApiError } from './api-client.ts';

/**
 * The exit code for an API refusal of a spec file, after printing it: 2 for an invalid spec (every problem with its
 * path), 1 for a change the coordinator refuses; undefined for any other error, which the caller rethrows.
 */
export function specRefusalExitCode(error: unknown, file: string, err: (line: string) => void): number | undefined {
  if (error instanceof ApiError && error.status === 400) {
    err(`kubeha: ${file}: ${error.message}`);
    for (const problem of Array.isArray(error.details) ? error.details : []) err(`  ${String(problem)}`);
    return 2;
  }
  if (error instanceof ApiError && error.status === 409) {
    err(`kubeha: ${error.message}`);
    return 1;
  }
  return undefined;
}
