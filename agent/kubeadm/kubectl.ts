import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { ExecOptions, ExecResult, Host } from '../host/host.ts';
import { kubeadmPaths } from './kubeadm-paths.ts';

/** kubectl as the cluster admin, through /etc/kubernetes/admin.conf (the control-plane endpoint). */
export function kubectl(host: Host, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return host.exec('kubectl', ['--kubeconfig', kubeadmPaths.adminConf, ...args], options);
}

/** `kubectl ... -o json`, parsed; undefined when --ignore-not-found found nothing. */
export async function kubectlJson<T>(host: Host, args: readonly string[]): Promise<T | undefined> {
  // Not streamed to the step log: a Secret's data is only base64, which no redaction recognises.
  const { stdout, commandLine } = await kubectl(host, [...args, '-o', 'json'], { onLine: () => {} });
  if (stdout.trim() === '') return undefined;
  try {
    return JSON.parse(stdout) as T;
  } catch (cause) {
    throw new KubehaError(ErrorCode.stepFailed, `${commandLine} did not print JSON`, { cause });
  }
}
