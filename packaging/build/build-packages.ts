import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleProgram } from './bundle-program.ts';

export type PackageName = 'kubeha-agent' | 'kubeha-coordinator';
export const packageNames: readonly PackageName[] = ['kubeha-agent', 'kubeha-coordinator'];

export interface BuildOptions {
  /** The project's root (where package.json is). */
  root: string;
  /** Where the .rpm files and tarballs go. */
  outDir: string;
  /** package.json's version when absent. */
  version?: string;
  release?: string;
  packages?: readonly PackageName[];
  tarballs?: boolean;
  /** zstd level of the RPM payload: 19 packs smallest, 3 builds fastest. */
  compressionLevel?: number;
  log?: (line: string) => void;
}

export interface BuiltPackage {
  name: PackageName;
  rpm: string;
  tarball?: string;
}

const usage = `Usage: node packaging/build/build-packages.ts [--out DIR] [--version X.Y.Z] [--release N]
         [--only kubeha-agent|kubeha-coordinator]... [--no-tarball] [--compression-level 1-19]

Builds kubeha-agent-VERSION-RELEASE.x86_64.rpm and kubeha-coordinator-VERSION-RELEASE.x86_64.rpm
(and a tarball of each package's files) into DIR (default dist/). Needs rpmbuild, strip and tar.`;

/** RPM forbids '-' in Version; '~' keeps a pre-release sorting before its release (0.2.0~rc.1 < 0.2.0). */
export function rpmVersion(version: string): string {
  const rpm = version.replace(/-/g, '~');
  if (!/^[A-Za-z0-9._+~^]+$/.test(rpm)) throw new Error(`version "${version}" cannot be an RPM version`);
  return rpm;
}

function requireTool(tool: string, why: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed: it is needed to ${why} (Debian: apt-get install rpm binutils tar)`);
  }
}

function writeFile(path: string, content: string | Buffer, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

function copyFile(from: string, to: string, mode: number): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, mode);
}

function withVersion(path: string, version: string): string {
  return readFileSync(path, 'utf8').replaceAll('@VERSION@', version);
}

/** Every .proto under proto/, at the same relative path under `libDir`, where the bundle's import.meta.url finds it. */
function copyProtos(protoRoot: string, libDir: string): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'generated' ? [] : walk(path);
      return entry.name.endsWith('.proto') ? [path] : [];
    });
  for (const file of walk(protoRoot)) copyFile(file, join(libDir, relative(protoRoot, file)), 0o644);
}

/** The real Node 24 binary behind node_modules/.bin/node, stripped once per build. */
function stripNode(root: string, workDir: string): string {
  const source = realpathSync(join(root, 'node_modules/.bin/node'));
  const version = execFileSync(source, ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith('v24.')) throw new Error(`${source} is Node ${version}; the packages ship Node 24`);
  const stripped = join(workDir, 'node');
  copyFile(source, stripped, 0o755);
  execFileSync('strip', ['--strip-all', stripped]);
  return stripped;
}

function chmodTree(dir: string, fileMode: number, dirMode: number): void {
  chmodSync(dir, dirMode);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chmodTree(path, fileMode, dirMode);
    else chmodSync(path, fileMode);
  }
}

/**
 * What both packages lay out the same way around their bundle in `home`/lib: the protos beside it, the bundled Node,
 * the systemd unit, the sysconfig file, the install guide, and the program's private data directory.
 */
function stageAroundBundle(root: string, stage: string, name: PackageName, version: string, node: string): void {
  const home = join(stage, 'usr/lib/kubeha', name.replace(/^kubeha-/, ''));
  copyProtos(join(root, 'proto'), join(home, 'lib'));
  chmodTree(home, 0o644, 0o755);
  copyFile(node, join(home, 'node'), 0o755);
  const packaging = join(root, 'packaging');
  copyFile(join(packaging, `systemd/${name}.service`), join(stage, `usr/lib/systemd/system/${name}.service`), 0o644);
  writeFile(join(stage, `etc/sysconfig/${name}`), withVersion(join(packaging, `sysconfig/${name}`), version), 0o600);
  copyFile(join(root, 'docs/install.md'), join(stage, `usr/share/doc/${name}/install.md`), 0o644);
  const dataDir = join(stage, name === 'kubeha-agent' ? 'var/lib/kubeha' : 'var/lib/kubeha-coordinator');
  mkdirSync(dataDir, { recursive: true });
  chmodSync(dataDir, 0o700);
}

async function stageAgent(root: string, stage: string, version: string, node: string): Promise<void> {
  await bundleProgram({
    entry: join(root, 'agent/main.ts'),
    outfile: join(stage, 'usr/lib/kubeha/agent/lib/kubeha-agent.mjs'),
    version,
    splitting: true,
  });
  stageAroundBundle(root, stage, 'kubeha-agent', version, node);
  const packaging = join(root, 'packaging');
  copyFile(join(packaging, 'wrappers/kubeha-agent'), join(stage, 'usr/bin/kubeha-agent'), 0o755);
  copyFile(join(packaging, 'check-apiserver'), join(stage, 'usr/libexec/kubeha/check-apiserver'), 0o755);
  copyFile(join(packaging, 'tmpfiles/kubeha-agent.conf'), join(stage, 'usr/lib/tmpfiles.d/kubeha-agent.conf'), 0o644);
  mkdirSync(join(stage, 'etc/kubeha'), { recursive: true, mode: 0o755 });
}

async function stageCoordinator(root: string, stage: string, version: string, node: string): Promise<void> {
  const lib = join(stage, 'usr/lib/kubeha/coordinator/lib');
  // @fastify/swagger-ui serves /docs from its static/ folder on disk; it is copied to lib/swagger-ui/static.
  const swaggerUi = realpathSync(join(root, 'node_modules/@fastify/swagger-ui'));
  await bundleProgram({
    entry: join(root, 'coordinator/main.ts'),
    outfile: join(lib, 'kubeha-coordinator.mjs'),
    version,
    assets: [{ packageDir: swaggerUi, folders: ['static'], bundleSubdir: 'swagger-ui' }],
  });
  await bundleProgram({ entry: join(root, 'coordinator/cli/main.ts'), outfile: join(lib, 'kubeha.mjs'), version });
  stageAroundBundle(root, stage, 'kubeha-coordinator', version, node);
  const packaging = join(root, 'packaging');
  copyFile(join(packaging, 'wrappers/kubeha-coordinator'), join(stage, 'usr/bin/kubeha-coordinator'), 0o755);
  copyFile(join(packaging, 'wrappers/kubeha'), join(stage, 'usr/bin/kubeha'), 0o755);
  writeFile(
    join(stage, 'etc/kubeha/coordinator.yaml'),
    withVersion(join(packaging, 'config/coordinator.yaml'), version),
    0o600,
  );
  chmodSync(join(stage, 'etc/kubeha'), 0o755);
}

function rpmbuild(root: string, name: PackageName, stage: string, topdir: string, defines: Record<string, string>) {
  const args = [
    '-bb',
    '--nodeps',
    '--target',
    'x86_64',
    '--define',
    `_topdir ${topdir}`,
    '--define',
    `kubeha_stage ${stage}`,
  ];
  for (const [key, value] of Object.entries(defines)) args.push('--define', `${key} ${value}`);
  args.push(join(root, 'packaging/rpm', `${name}.spec`));
  execFileSync('rpmbuild', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const rpm = `${name}-${defines['kubeha_version']}-${defines['kubeha_release']}.x86_64.rpm`;
  return join(topdir, 'RPMS/x86_64', rpm);
}

/** Stages each package's files, builds its RPM with rpmbuild, and packs the same tree as a tarball. */
export async function buildPackages(options: BuildOptions): Promise<BuiltPackage[]> {
  const log = options.log ?? (() => {});
  const root = resolve(options.root);
  const outDir = resolve(options.outDir);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const version = rpmVersion(options.version ?? pkg.version);
  const release = options.release ?? '1';
  if (!/^[0-9]+[A-Za-z0-9._]*$/.test(release)) throw new Error(`release "${release}" is not a valid RPM release`);
  const level = options.compressionLevel ?? 10;
  if (!Number.isInteger(level) || level < 1 || level > 19) throw new Error('--compression-level: 1 to 19');
  requireTool('rpmbuild', 'build the RPMs');
  requireTool('strip', 'strip the bundled Node.js binary');
  requireTool('tar', 'pack the tarballs');
  for (const file of ['packaging/check-apiserver', 'docs/install.md']) {
    if (!existsSync(join(root, file))) throw new Error(`${file} is missing: the packages ship it`);
  }

  const work = join(outDir, '.build');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const node = stripNode(root, work);
  const built: BuiltPackage[] = [];
  for (const name of options.packages ?? packageNames) {
    const stage = join(work, 'stage', name);
    mkdirSync(stage, { recursive: true });
    if (name === 'kubeha-agent') await stageAgent(root, stage, version, node);
    else await stageCoordinator(root, stage, version, node);
    log(`${name}: staged ${version}-${release}`);
    const rpm = rpmbuild(root, name, stage, join(work, 'rpmbuild'), {
      kubeha_version: version,
      kubeha_release: release,
      kubeha_payload: `w${level}T0.zstdio`,
    });
    const target = join(outDir, basename(rpm));
    copyFileSync(rpm, target);
    log(`${name}: ${target}`);
    const result: BuiltPackage = { name, rpm: target };
    if (options.tarballs ?? true) {
      const tarball = join(outDir, `${name}-${version}-${release}.x86_64.tar.gz`);
      execFileSync('tar', ['-C', stage, '--owner=0', '--group=0', '--numeric-owner', '-czf', tarball, '.']);
      log(`${name}: ${tarball}`);
      result.tarball = tarball;
    }
    built.push(result);
  }
  rmSync(work, { recursive: true, force: true });
  return built;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'dist' },
      version: { type: 'string' },
      release: { type: 'string' },
      only: { type: 'string', multiple: true },
      'no-tarball': { type: 'boolean', default: false },
      'compression-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  for (const name of values.only ?? []) {
    if (!packageNames.includes(name as PackageName)) throw new Error(`--only: unknown package "${name}"`);
  }
  await buildPackages({
    root: fileURLToPath(new URL('../../', import.meta.url)),
    outDir: values.out,
    ...(values.version ? { version: values.version } : {}),
    ...(values.release ? { release: values.release } : {}),
    ...(values.only ? { packages: values.only as PackageName[] } : {}),
    tarballs: !values['no-tarball'],
    ...(values['compression-level'] ? { compressionLevel: Number(values['compression-level']) } : {}),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      process.stderr.write(`build-packages: ${(error as Error).message}${stderr ? `\n${stderr}` : ''}\n`);
      process.exitCode = 1;
    },
  );
}
