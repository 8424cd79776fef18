import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BuildKubeResult, buildKube, kubeCacheDir } from './build-kube.ts';

// The real programs, from the cache that .ci/run fills before the tests (a cold build here would take tens of
// minutes; with a filled cache buildKube only checks the stamps).
const goMissing = spawnSync('go', ['version'], { stdio: 'ignore' }).error !== undefined;
const buildMinutes = 120;

function run(path: string, args: string[]): string {
  const result = spawnSync(path, args, { encoding: 'utf8', timeout: 60_000 });
  expect(result.status, `${path} ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout.trim();
}

describe.skipIf(goMissing)('the real Kubernetes programs built from their Go modules', () => {
  let built: BuildKubeResult;
  const program = (dir: string, name: string) => {
    const component = built.components.find((c) => c.moduleDir === dir);
    return component!.programs[name]!;
  };

  beforeAll(async () => {
    built = await buildKube({ cacheDir: kubeCacheDir(process.env), env: process.env, log: (l) => console.log(l) });
  }, buildMinutes * 60_000);

  it('kubeadm, kube-apiserver and kubectl say v1.34.4, as kubeadm version checks need', () => {
    expect(run(program('k8s', 'kubeadm'), ['version', '-o', 'short'])).toBe('v1.34.4');
    expect(run(program('k8s', 'kube-apiserver'), ['--version'])).toBe('Kubernetes v1.34.4');
    expect(run(program('k8s', 'kube-controller-manager'), ['--version'])).toBe('Kubernetes v1.34.4');
    expect(run(program('k8s', 'kube-scheduler'), ['--version'])).toBe('Kubernetes v1.34.4');
    expect(run(program('k8s', 'kubectl'), ['version', '--client', '-o', 'json'])).toContain('"gitVersion": "v1.34.4"');
  });

  it('the newest kubeadm says v1.37.2', () => {
    expect(run(program('kubeadm-newest', 'kubeadm'), ['version', '-o', 'short'])).toBe('v1.37.2');
  });

  it('etcd, etcdctl and etcdutl say 3.6.5, the etcd kubeadm 1.34 pins', () => {
    expect(run(program('etcd', 'etcd'), ['--version'])).toMatch(/^etcd Version: 3\.6\.5$/m);
    expect(run(program('etcd', 'etcdctl'), ['version'])).toMatch(/^etcdctl version: 3\.6\.5$/m);
    expect(run(program('etcd', 'etcdutl'), ['version'])).toMatch(/^etcdutl version: 3\.6\.5$/m);
  });

  it('crictl says v1.34.0', () => {
    expect(run(program('cri-tools', 'crictl'), ['--version'])).toBe('crictl version v1.34.0');
  });
});

if (goMissing) {
  describe('the real Kubernetes programs', () => {
    it.skip('are not built: no `go` on PATH (CI installs Go; .ci/run fails without it)', () => {});
  });
}
