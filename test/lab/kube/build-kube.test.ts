import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildKube,
  GoBuildError,
  GoMissingError,
  kubeCacheDir,
  kubeModulesDir,
  requiredVersion,
} from './build-kube.ts';

// A fake `go`: records each call (working directory, arguments, CGO_ENABLED, GOFLAGS), answers `go env`, and for
// `go build -o OUT PKG` writes a small script to OUT, unless FAKE_GO_FAIL names PKG: then it writes half a file and
// fails like a compiler error.
const fakeGo = `#!/bin/bash
echo "$PWD|$*|CGO_ENABLED=$CGO_ENABLED|GOFLAGS=$GOFLAGS" >> "$FAKE_GO_CALLS"
case "$1" in
  env) echo "\${FAKE_GO_VERSION:-go1.26.8}"; echo "$FAKE_GO_MODCACHE" ;;
  mod) exit 0 ;;
  build)
    out=""; pkg="\${@: -1}"
    while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
    if [ -n "$FAKE_GO_FAIL" ] && [ "$pkg" = "$FAKE_GO_FAIL" ]; then
      echo half > "$out"; echo "$pkg: undefined: somethingMissing" >&2; exit 2
    fi
    printf '#!/bin/sh\\necho built %s\\n' "$pkg" > "$out"; chmod +x "$out" ;;
esac
`;

let work: string;
let cacheDir: string;
let modulesDir: string;
let calls: string;
let env: NodeJS.ProcessEnv;

function goCalls(): string[] {
  return existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [];
}

async function build(extraEnv: NodeJS.ProcessEnv = {}, log: string[] = []) {
  writeFileSync(calls, '');
  return buildKube({
    cacheDir,
    modulesDir,
    go: join(work, 'go'),
    env: { ...env, ...extraEnv },
    log: (line) => log.push(line),
  });
}

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'kubeha-build-kube-'));
  cacheDir = join(work, 'cache');
  modulesDir = join(work, 'modules');
  calls = join(work, 'calls');
  for (const dir of ['k8s', 'etcd', 'cri-tools', 'kubeadm-newest', 'agnhost']) {
    mkdirSync(join(modulesDir, dir), { recursive: true });
    for (const file of ['go.mod', 'go.sum']) cpSync(join(kubeModulesDir, dir, file), join(modulesDir, dir, file));
  }
  const modCache = join(work, 'modcache');
  mkdirSync(join(modCache, 'cache/download/k8s.io/kubernetes/@v'), { recursive: true });
  writeFileSync(
    join(modCache, 'cache/download/k8s.io/kubernetes/@v/v1.34.4.info'),
    '{"Version":"v1.34.4","Time":"2026-02-10T12:53:36Z"}',
  );
  writeFileSync(join(work, 'go'), fakeGo);
  chmodSync(join(work, 'go'), 0o755);
  env = { PATH: process.env['PATH'], FAKE_GO_CALLS: calls, FAKE_GO_MODCACHE: modCache };
});

afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('buildKube', () => {
  it('builds every program into a folder per version, stamped with its version, static and trimmed', async () => {
    // GIVEN an empty cache
    const log: string[] = [];
    // WHEN it builds the default version set
    const result = await build({}, log);
    // THEN every program is in its version's folder and runs
    expect(result.built).toEqual([
      'kube-v1.34.4/kubeadm',
      'kube-v1.34.4/kube-apiserver',
      'kube-v1.34.4/kube-controller-manager',
      'kube-v1.34.4/kube-scheduler',
      'kube-v1.34.4/kubectl',
      'etcd-v3.6.5/etcd',
      'etcd-v3.6.5/etcdctl',
      'etcd-v3.6.5/etcdutl',
      'cri-tools-v1.34.0/crictl',
      'kubeadm-v1.37.2/kubeadm',
      'agnhost-v1.34.4/agnhost',
    ]);
    const run = spawnSync(join(cacheDir, 'kube-v1.34.4', 'kube-apiserver'), { encoding: 'utf8' });
    expect(run.stdout.trim()).toBe('built k8s.io/kubernetes/cmd/kube-apiserver');
    expect(result.components.map((c) => c.dir)).toEqual(
      ['kube-v1.34.4', 'etcd-v3.6.5', 'cri-tools-v1.34.0', 'kubeadm-v1.37.2', 'agnhost-v1.34.4'].map((d) =>
        join(cacheDir, d),
      ),
    );
    // AND modules are downloaded first, in each module's folder, and every go command runs static with -mod=mod
    const all = goCalls();
    expect(all[1]).toBe(`${join(modulesDir, 'k8s')}|mod download|CGO_ENABLED=0|GOFLAGS=-mod=mod -buildvcs=false`);
    expect(all.every((c) => c.endsWith('CGO_ENABLED=0|GOFLAGS=-mod=mod -buildvcs=false'))).toBe(true);
    const kubeadmBuild = all.find(
      (c) => c.startsWith(`${join(modulesDir, 'k8s')}|build`) && c.includes('cmd/kubeadm|'),
    )!;
    expect(kubeadmBuild).toContain('build -trimpath -ldflags -s -w');
    for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'])
      for (const flag of ['gitMajor=1', 'gitMinor=34', 'gitVersion=v1.34.4', 'gitTreeState=clean'])
        expect(kubeadmBuild).toContain(`-X ${pkg}.${flag}`);
    // AND the build date is the release's time from the module proxy, not today's
    expect(kubeadmBuild).toContain('-X k8s.io/component-base/version.buildDate=2026-02-10T12:53:36Z');
    const newest = all.find((c) => c.startsWith(join(modulesDir, 'kubeadm-newest')) && c.includes('|build '))!;
    expect(newest).toContain('gitMinor=37 ');
    expect(newest).toContain('gitVersion=v1.37.2');
    const crictl = all.find((c) => c.includes('cmd/crictl|'))!;
    expect(crictl).toContain('-X sigs.k8s.io/cri-tools/pkg/version.Version=v1.34.0');
    // AND it said what it built, one line per program
    expect(log.filter((l) => /: built in \d/.test(l))).toHaveLength(11);
  });

  it('builds nothing the second time', async () => {
    // GIVEN a cache filled by a first run
    await build();
    // WHEN it runs again
    const log: string[] = [];
    const result = await build({}, log);
    // THEN it only asked go for its version
    expect(result.built).toEqual([]);
    expect(goCalls().map((c) => c.split('|')[1])).toEqual(['env GOVERSION GOMODCACHE']);
    expect(log.filter((l) => l.endsWith(': cached'))).toHaveLength(11);
  });

  it("rebuilds a component whose go.sum changed, and everything when Go's version changed", async () => {
    // GIVEN a filled cache
    await build();
    // WHEN etcd's go.sum changes
    writeFileSync(join(modulesDir, 'etcd', 'go.sum'), `${readFileSync(join(modulesDir, 'etcd', 'go.sum'))}\n`);
    // THEN only etcd's programs are built again
    expect((await build()).built).toEqual(['etcd-v3.6.5/etcd', 'etcd-v3.6.5/etcdctl', 'etcd-v3.6.5/etcdutl']);
    // AND WHEN Go's version changes, everything is built again
    expect((await build({ FAKE_GO_VERSION: 'go1.27.0' })).built).toHaveLength(11);
  });

  it('rebuilds only a program that went missing', async () => {
    // GIVEN a filled cache from which kubectl was deleted
    await build();
    rmSync(join(cacheDir, 'kube-v1.34.4', 'kubectl'));
    // WHEN it runs again
    const result = await build();
    // THEN kubectl alone is built
    expect(result.built).toEqual(['kube-v1.34.4/kubectl']);
  });

  it('reports a failed build with its command, exit code and stderr, and leaves no half binary', async () => {
    // GIVEN a filled cache, then a go.sum change and a compiler error in etcdctl
    await build();
    writeFileSync(join(modulesDir, 'etcd', 'go.sum'), `${readFileSync(join(modulesDir, 'etcd', 'go.sum'))}\n`);
    // WHEN it builds
    const failure = build({ FAKE_GO_FAIL: 'go.etcd.io/etcd/etcdctl/v3' });
    // THEN the error says which command failed, how, and why
    await expect(failure).rejects.toThrow(GoBuildError);
    await expect(failure).rejects.toThrow(/`.*go build -trimpath .* go\.etcd\.io\/etcd\/etcdctl\/v3`/);
    await expect(failure).rejects.toThrow(/exit code 2:\ngo.etcd.io\/etcd\/etcdctl\/v3: undefined: somethingMissing/);
    // AND the previous etcdctl is intact and no temporary file is left
    const etcdDir = join(cacheDir, 'etcd-v3.6.5');
    expect(readFileSync(join(etcdDir, 'etcdctl'), 'utf8')).toContain('built go.etcd.io/etcd/etcdctl/v3');
    expect(readdirSync(etcdDir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // AND the next run builds it again
    expect((await build()).built).toEqual(['etcd-v3.6.5/etcdctl', 'etcd-v3.6.5/etcdutl']);
  });

  it('removes what a killed build left behind', async () => {
    // GIVEN a temporary binary whose builder no longer runs
    await build();
    const gone = spawnSync('true').pid;
    const leftover = join(cacheDir, 'kube-v1.34.4', `kubeadm.tmp-${gone}-0badc0de`);
    writeFileSync(leftover, 'half');
    rmSync(join(cacheDir, 'kube-v1.34.4', 'kubeadm'));
    // WHEN it runs again
    await build();
    // THEN the leftover is gone and kubeadm is whole
    expect(existsSync(leftover)).toBe(false);
    expect(readFileSync(join(cacheDir, 'kube-v1.34.4', 'kubeadm'), 'utf8')).toContain('cmd/kubeadm');
  });

  it('says clearly that Go is missing', async () => {
    // GIVEN no go command
    const missing = buildKube({ cacheDir, modulesDir, go: join(work, 'no-such-go'), env });
    // THEN the error names the problem and the way out
    await expect(missing).rejects.toThrow(GoMissingError);
    await expect(missing).rejects.toThrow(/Go is not installed: .*--stand-ins/);
  });

  it('refuses an unknown version set', async () => {
    await expect(buildKube({ cacheDir, modulesDir, env, versionSet: 'newest' })).rejects.toThrow(
      'unknown version set "newest" (known: default)',
    );
  });
});

describe('kubeCacheDir and requiredVersion', () => {
  it('honours KUBEHA_CACHE_DIR, else ~/.cache/kubeha', () => {
    expect(kubeCacheDir({ KUBEHA_CACHE_DIR: '/x/cache', HOME: '/home/a' })).toBe('/x/cache');
    expect(kubeCacheDir({ HOME: '/home/a' })).toBe('/home/a/.cache/kubeha');
  });

  it('reads the version a go.mod requires, single-line or in a block', () => {
    const goMod = 'module m\n\nrequire k8s.io/kubernetes v1.34.4\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 v3.6.5\n)\n';
    expect(requiredVersion(goMod, 'k8s.io/kubernetes')).toBe('v1.34.4');
    expect(requiredVersion(goMod, 'go.etcd.io/etcd/server/v3')).toBe('v3.6.5');
    expect(() => requiredVersion(goMod, 'sigs.k8s.io/cri-tools')).toThrow('go.mod does not require');
  });
});
