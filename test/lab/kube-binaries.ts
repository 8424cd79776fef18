// The real Kubernetes programs the lab runs, and where they come from: the lab's Go build (test/lab/kube/), which
// builds on first use and then answers from its cache.
import { spawnSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildKube, kubeCacheDir } from './kube/build-kube.ts';

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
  // The e2e test image's program: the stand-in kubelet runs it for pods of that image (verify's pod-network probe).
  'agnhost',
] as const;

export interface RealPrograms {
  kubernetesVersion: string;
  /** Program name to its path in the build cache. */
  paths: Record<string, string>;
}

export function goAvailable(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).error === undefined;
}

/** Builds (or finds in the cache) the real programs; undefined when Go is missing. */
export async function realKubePrograms(log: (line: string) => void): Promise<RealPrograms | undefined> {
  if (!goAvailable()) return undefined;
  log(
    `the real Kubernetes programs (a cold build takes tens of minutes on 2 cores; cached: ${kubeCacheDir(process.env)})`,
  );
  const built = await buildKube({ cacheDir: kubeCacheDir(process.env), env: process.env, log });
  const paths: Record<string, string> = {};
  let kubernetesVersion = '';
  for (const component of built.components) {
    // The newest kubeadm is only for `kubeadm config validate`: the lab runs the release its control plane is.
    if (component.moduleDir === 'kubeadm-newest') continue;
    if (component.moduleDir === 'k8s') kubernetesVersion = component.version.replace(/^v/, '');
    Object.assign(paths, component.programs);
  }
  const missing = realPrograms.filter((p) => !paths[p]);
  if (missing.length > 0 || !kubernetesVersion) throw new Error(`the Go build gave no ${missing.join(', ')}`);
  return { kubernetesVersion, paths };
}

/**
 * Puts the real programs into `dir` (a lab's own directory, visible inside its nodes, where /root is not): hard links
 * when on the same filesystem, copies otherwise.
 */
export function installRealPrograms(paths: Record<string, string>, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const program of realPrograms) {
    const target = join(dir, program);
    rmSync(target, { force: true });
    try {
      linkSync(paths[program]!, target);
    } catch {
      copyFileSync(paths[program]!, target);
    }
  }
}
