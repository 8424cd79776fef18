import type { Host } from '../host/host.ts';
import { ensureFile, rootOwner } from '../os-actions/ensure-file.ts';
import type { PlannedChange } from '../step-execution/step.ts';
import { kubeadmPaths } from './kubeadm-paths.ts';

/**
 * The config kubeadm init or join reads (it holds a bootstrap token or the certificate key): root's, 0600, in kubeha's
 * kubeadm config directory (0700), written only when its bytes are not right; its mode and owner are always fixed.
 */
export async function ensureKubeadmConfigFile(host: Host, path: string, content: string): Promise<PlannedChange[]> {
  const plan = await ensureFile(host, {
    path,
    content,
    mode: 0o600,
    owner: rootOwner,
    directoryMode: 0o700,
    description: `write ${path} (0600)`,
  });
  return plan.changes;
}

/**
 * Runs `fn` with `content` in a 0600 file under kubeha's kubeadm config directory (0700), and removes the file (and
 * any backup a rewrite kept) afterwards, whether `fn` succeeded or not: secrets reach kubeadm through the file, never
 * through its command line, where every user of the node could read them in /proc/PID/cmdline.
 */
export async function withSecretConfigFile<T>(
  host: Host,
  name: string,
  content: string,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const path = `${kubeadmPaths.configDir}/${name}`;
  await host.mkdir(kubeadmPaths.configDir, 0o700);
  try {
    await host.writeFileAtomic(path, content, 0o600);
    return await fn(path);
  } finally {
    await host.remove(path);
    await host.remove(`${path}.kubeha.bak`);
  }
}
