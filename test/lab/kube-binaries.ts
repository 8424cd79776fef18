// The real Kubernetes programs the lab runs, and where they come from. One function decides, so that switching to
// another build or cache is one change.
import { copyFileSync, existsSync, linkSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const realKubernetesVersion = '1.34.4';

/** The programs a real-control-plane lab node runs for real (kubelet and containerd stay stand-ins). */
export const realPrograms = [
  'kubeadm',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'etcd',
  'etcdctl',
  'etcdutl',
  'crictl',
] as const;

const prebuildDir = '/root/.cache/kubeha/prebuild';

/** The directory holding every real program, or undefined when some are missing (the lab then uses stand-ins). */
export function realKubeBinariesDir(): string | undefined {
  return realPrograms.every((p) => existsSync(join(prebuildDir, p))) ? prebuildDir : undefined;
}

/**
 * Puts the real programs into `dir` (a lab's own directory, visible inside its nodes, where /root is not): hard links
 * when on the same filesystem, copies otherwise.
 */
export function installRealPrograms(from: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const program of realPrograms) {
    const target = join(dir, program);
    rmSync(target, { force: true });
    try {
      linkSync(join(from, program), target);
    } catch {
      copyFileSync(join(from, program), target);
    }
  }
}
