// Builds the real Kubernetes programs the lab runs (kubeadm, the control-plane servers, kubectl, etcd, crictl, the
// newest release's kubeadm and the e2e image's agnhost) from the Go modules beside this file, into a cache keyed by version. A second run builds
// nothing: each binary's stamp records what it was built from (go.sum, Go version, flags).
//
//   node test/lab/kube/build-kube.ts [--version-set default] [--cache-dir DIR]
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const kubeModulesDir = dirname(fileURLToPath(import.meta.url));

/** How a program states its version: Kubernetes's component-base/client-go variables, cri-tools' one, or none. */
type VersionStamp = 'kubernetes' | 'cri-tools' | 'none';

export interface KubeComponent {
  /** Folder under test/lab/kube/ holding the component's go.mod, go.sum and tools.go. */
  moduleDir: string;
  /** The module whose required version names the cache folder (`<cachePrefix>-<version>`). */
  versionModule: string;
  cachePrefix: string;
  stamp: VersionStamp;
  programs: { name: string; goPackage: string }[];
}

const kubernetesPrograms = ['kubeadm', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'];

export const versionSets: Record<string, KubeComponent[]> = {
  default: [
    {
      moduleDir: 'k8s',
      versionModule: 'k8s.io/kubernetes',
      cachePrefix: 'kube',
      stamp: 'kubernetes',
      programs: kubernetesPrograms.map((name) => ({ name, goPackage: `k8s.io/kubernetes/cmd/${name}` })),
    },
    {
      moduleDir: 'etcd',
      versionModule: 'go.etcd.io/etcd/server/v3',
      cachePrefix: 'etcd',
      stamp: 'none',
      programs: [
        { name: 'etcd', goPackage: 'go.etcd.io/etcd/server/v3' },
        { name: 'etcdctl', goPackage: 'go.etcd.io/etcd/etcdctl/v3' },
        { name: 'etcdutl', goPackage: 'go.etcd.io/etcd/etcdutl/v3' },
      ],
    },
    {
      moduleDir: 'cri-tools',
      versionModule: 'sigs.k8s.io/cri-tools',
      cachePrefix: 'cri-tools',
      stamp: 'cri-tools',
      programs: [{ name: 'crictl', goPackage: 'sigs.k8s.io/cri-tools/cmd/crictl' }],
    },
    {
      moduleDir: 'kubeadm-newest',
      versionModule: 'k8s.io/kubernetes',
      cachePrefix: 'kubeadm',
      stamp: 'kubernetes',
      programs: [{ name: 'kubeadm', goPackage: 'k8s.io/kubernetes/cmd/kubeadm' }],
    },
    {
      moduleDir: 'agnhost',
      versionModule: 'k8s.io/kubernetes',
      cachePrefix: 'agnhost',
      stamp: 'none',
      programs: [{ name: 'agnhost', goPackage: 'k8s.io/kubernetes/test/images/agnhost' }],
    },
  ],
};

export class GoMissingError extends Error {
  override name = 'GoMissingError';
}

export class GoBuildError extends Error {
  override name = 'GoBuildError';
}

export interface BuildKubeOptions {
  cacheDir: string;
  versionSet?: string;
  /** The `go` command; tests pass a fake. */
  go?: string;
  /** The environment `go` runs with (PATH, HOME, GOCACHE, GOMODCACHE, GOPROXY...). */
  env: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** How often a long build says it is still running. */
  heartbeatMs?: number;
  /** Where the components' module folders are; tests point it at copies. */
  modulesDir?: string;
}

export interface BuiltComponent {
  moduleDir: string;
  version: string;
  dir: string;
  /** Program name to absolute path. */
  programs: Record<string, string>;
}

export interface BuildKubeResult {
  components: BuiltComponent[];
  /** Programs built by this call, as `<cache folder>/<program>`; empty when everything was cached. */
  built: string[];
  goVersion: string;
}

/** `$KUBEHA_CACHE_DIR`, else `~/.cache/kubeha`. */
export function kubeCacheDir(env: NodeJS.ProcessEnv): string {
  return env['KUBEHA_CACHE_DIR'] || join(env['HOME'] || homedir(), '.cache', 'kubeha');
}

/** The version the go.mod requires of `module`. */
export function requiredVersion(goMod: string, module: string): string {
  const escaped = module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v[0-9][^\\s]*)`, 'm').exec(goMod);
  if (!match?.[1]) throw new Error(`go.mod does not require ${module}`);
  return match[1];
}

/** The proxy's time for a version (the tagged commit's time); it gives no commit hash. */
function releaseTime(goModCache: string, module: string, version: string): string | undefined {
  const info = join(goModCache, 'cache', 'download', escapeModulePath(module), '@v', `${version}.info`);
  if (!existsSync(info)) return undefined;
  const time = (JSON.parse(readFileSync(info, 'utf8')) as { Time?: string }).Time;
  return time?.replace(/\.\d+Z$/, 'Z');
}

/** The module cache spells upper-case letters as `!` + lower case. */
function escapeModulePath(module: string): string {
  return module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

export function versionLdflags(stamp: VersionStamp, version: string, buildDate: string | undefined): string[] {
  if (stamp === 'cri-tools') return [`-X sigs.k8s.io/cri-tools/pkg/version.Version=${version}`];
  if (stamp === 'none') return [];
  const [major, minor] = version.replace(/^v/, '').split('.');
  const flags: string[] = [];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(`-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`, `-X ${pkg}.gitVersion=${version}`);
    // The module proxy serves no commit hash: an empty gitCommit says so instead of inventing one.
    flags.push(`-X ${pkg}.gitCommit=`, `-X ${pkg}.gitTreeState=clean`);
    if (buildDate) flags.push(`-X ${pkg}.buildDate=${buildDate}`);
  }
  return flags;
}

interface GoRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function runGo(go: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<GoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-20_000);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        reject(
          new GoMissingError(
            `Go is not installed: no \`${go}\` on PATH. The lab builds the real Kubernetes programs from their Go ` +
              'modules and needs Go 1.26 or newer (https://go.dev/dl/); without Go, run the lab with --stand-ins.',
          ),
        );
      else reject(err);
    });
    child.on('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

/** Runs `go args` and says every `heartbeatMs` that it is still running and why it takes long. */
async function goWithProgress(
  go: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  heartbeatMs: number,
  waiting: string,
): Promise<void> {
  const started = Date.now();
  const timer = setInterval(() => log(`    ... ${seconds(started)}: ${waiting}`), heartbeatMs);
  try {
    const result = await runGo(go, args, cwd, env);
    if (result.exitCode !== 0)
      throw new GoBuildError(
        `\`${go} ${args.join(' ')}\` (in ${cwd}) failed with exit code ${result.exitCode}:\n${tail(result.stderr)}`,
      );
  } finally {
    clearInterval(timer);
  }
}

type Stamps = Record<string, string>;

function readStamps(dir: string): Stamps {
  try {
    return JSON.parse(readFileSync(join(dir, 'stamp.json'), 'utf8')) as Stamps;
  } catch {
    return {};
  }
}

function writeAtomically(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** A build killed mid-way leaves its temporary output; remove those whose builder is gone. */
function removeStaleTemporaries(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const match = /\.tmp-(\d+)-[0-9a-f]+$/.exec(entry);
    if (!match) continue;
    let alive = true;
    try {
      process.kill(Number(match[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive) rmSync(join(dir, entry), { force: true });
  }
}

export async function buildKube(options: BuildKubeOptions): Promise<BuildKubeResult> {
  const setName = options.versionSet ?? 'default';
  const components = versionSets[setName];
  if (!components) throw new Error(`unknown version set "${setName}" (known: ${Object.keys(versionSets).join(', ')})`);
  const go = options.go ?? 'go';
  const log = options.log ?? (() => {});
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const modulesDir = options.modulesDir ?? kubeModulesDir;
  const env: NodeJS.ProcessEnv = { ...options.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod -buildvcs=false' };

  const goEnv = await runGo(go, ['env', 'GOVERSION', 'GOMODCACHE'], modulesDir, env);
  if (goEnv.exitCode !== 0)
    throw new GoBuildError(`\`${go} env\` failed with exit code ${goEnv.exitCode}:\n${tail(goEnv.stderr)}`);
  const [goVersion = '', goModCache = ''] = goEnv.stdout.trim().split('\n');

  const result: BuildKubeResult = { components: [], built: [], goVersion };
  for (const component of components) {
    const moduleDir = join(modulesDir, component.moduleDir);
    const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
    const goSum = readFileSync(join(moduleDir, 'go.sum'));
    const version = requiredVersion(goMod, component.versionModule);
    const cacheName = `${component.cachePrefix}-${version}`;
    const dir = join(options.cacheDir, cacheName);
    mkdirSync(dir, { recursive: true });
    removeStaleTemporaries(dir);

    const built: BuiltComponent = { moduleDir: component.moduleDir, version, dir, programs: {} };
    result.components.push(built);
    const fixedFlags = ['build', '-trimpath', '-ldflags', '-s -w'];
    const keyOf = (goPackage: string) =>
      `${sha256(goSum)}:${goVersion}:${sha256(JSON.stringify([fixedFlags, component.stamp, version, goPackage]))}`;
    const stamps = readStamps(dir);
    const outdated = component.programs.filter((p) => {
      built.programs[p.name] = join(dir, p.name);
      return stamps[p.name] !== keyOf(p.goPackage) || !existsSync(join(dir, p.name));
    });
    for (const p of component.programs) if (!outdated.includes(p)) log(`  ${cacheName}/${p.name}: cached`);
    if (outdated.length === 0) continue;

    const downloadStarted = Date.now();
    log(`  ${cacheName}: downloading modules (go mod download)`);
    await goWithProgress(
      go,
      ['mod', 'download'],
      moduleDir,
      env,
      log,
      heartbeatMs,
      `still downloading ${cacheName}'s modules from the Go module proxy`,
    );
    log(`  ${cacheName}: modules ready in ${seconds(downloadStarted)}`);
    const buildDate = releaseTime(goModCache, component.versionModule, version);
    const ldflags = ['-s', '-w', ...versionLdflags(component.stamp, version, buildDate)].join(' ');

    for (const program of outdated) {
      const target = join(dir, program.name);
      const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      const started = Date.now();
      log(`  ${cacheName}/${program.name}: building`);
      try {
        await goWithProgress(
          go,
          ['build', '-trimpath', '-ldflags', ldflags, '-o', tmp, program.goPackage],
          moduleDir,
          env,
          log,
          heartbeatMs,
          `still building ${program.name} ${version}: go compiles the packages missing from its build cache, ` +
            'then links (cold, Kubernetes takes tens of minutes on 2 cores)',
        );
        if (!existsSync(tmp)) throw new GoBuildError(`\`${go} build\` reported success but wrote no ${tmp}`);
        renameSync(tmp, target);
      } finally {
        rmSync(tmp, { force: true });
      }
      const updated = { ...readStamps(dir), [program.name]: keyOf(program.goPackage) };
      writeAtomically(join(dir, 'stamp.json'), `${JSON.stringify(updated, null, 2)}\n`);
      result.built.push(`${cacheName}/${program.name}`);
      log(`  ${cacheName}/${program.name}: built in ${seconds(started)}`);
    }
  }
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'version-set': { type: 'string', default: 'default' },
      'cache-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('Usage: node test/lab/kube/build-kube.ts [--version-set default] [--cache-dir DIR]');
    return;
  }
  const cacheDir = values['cache-dir'] ?? kubeCacheDir(process.env);
  const started = Date.now();
  console.log(`building the real Kubernetes programs into ${cacheDir} (version set ${values['version-set']})`);
  const result = await buildKube({
    cacheDir,
    versionSet: values['version-set'],
    env: process.env,
    log: (line) => console.log(line),
  });
  const what = result.built.length === 0 ? 'nothing to build, all cached' : `built ${result.built.length} programs`;
  console.log(`${what} in ${seconds(started)} with ${result.goVersion}`);
  for (const c of result.components) console.log(`  ${c.dir}: ${Object.keys(c.programs).join(', ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`build-kube: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
