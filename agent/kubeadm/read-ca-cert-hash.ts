import { caCertHash } from '../../common/ca-hash.ts';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { Host } from '../host/host.ts';
import { kubeadmPaths } from './kubeadm-paths.ts';

/** The discovery hash of the cluster CA kubeadm wrote: what `--discovery-token-ca-cert-hash` must carry. */
export async function readCaCertHash(host: Host, path: string = kubeadmPaths.caCert): Promise<string> {
  const pem = await host.readFile(path);
  if (pem === undefined) throw new KubehaError(ErrorCode.stepFailed, `${path} does not exist`);
  try {
    return caCertHash(pem);
  } catch (cause) {
    throw new KubehaError(ErrorCode.stepFailed, `${path} is not a PEM certificate`, { cause });
  }
}
