import type { Host } from '../host/host.ts';
import { kubeadmPaths } from './kubeadm-paths.ts';

export const apiserverPort = 6443;

/** `address:port`, with an IPv6 address in brackets. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export interface ReadyzAnswer {
  url: string;
  curlExitCode: number;
  /** The HTTP status, 0 when curl got no answer. */
  httpStatus: number;
  body: string;
}

/**
 * GET /readyz of an apiserver endpoint (`host:port`), trusting only the cluster CA. With `mustAnswer` a request
 * that gets no HTTP answer throws (command line, exit code, stderr); without it, it is returned with status 0.
 */
export async function getReadyz(host: Host, endpoint: string, mustAnswer = false): Promise<ReadyzAnswer> {
  const url = `https://${endpoint}/readyz`;
  const result = await host.exec(
    'curl',
    ['-sS', '--globoff', '--max-time', '5', '--cacert', kubeadmPaths.caCert, '-w', '\n%{http_code}', url],
    mustAnswer ? {} : { allowFailure: true, onLine: () => {} },
  );
  const at = result.stdout.lastIndexOf('\n');
  const httpStatus = result.exitCode === 0 ? Number(result.stdout.slice(at + 1)) : 0;
  return { url, curlExitCode: result.exitCode, httpStatus, body: result.stdout.slice(0, Math.max(at, 0)) };
}

/** Why the answer is not a ready apiserver; undefined when it is. */
export function readyzProblem(answer: ReadyzAnswer): string | undefined {
  if (answer.curlExitCode === 0 && answer.httpStatus === 200) return undefined;
  const what = answer.curlExitCode === 0 ? String(answer.httpStatus) : `nothing (curl exit ${answer.curlExitCode})`;
  return `GET ${answer.url} answered ${what}`;
}
