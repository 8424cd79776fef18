// Builds the RPMs once (and a newer agent RPM for the upgrade), then checks them the way an operator meets them:
// rpmlint, rpm -qp queries, an install into a scratch root, the installed programs on their bundled Node,
// an upgrade over an edited config, the tarball, and systemd-analyze verify on the units.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { waitFor } from '../support/wait-for.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version.replace(
  /-/g,
  '~',
);
const newerVersion = `${version}.1`;
const work = mkdtempSync(join(tmpdir(), 'kubeha-packaging-test-'));
const out = join(work, 'dist');
const newerOut = join(work, 'dist-newer');
const scratch = join(work, 'root');
const agentRpm = join(out, `kubeha-agent-${version}-1.x86_64.rpm`);
const coordinatorRpm = join(out, `kubeha-coordinator-${version}-1.x86_64.rpm`);
const newerAgentRpm = join(newerOut, `kubeha-agent-${newerVersion}-1.x86_64.rpm`);
const children: ChildProcess[] = [];

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', env: options.env ?? process.env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, output: result.stdout + result.stderr };
}

function build(args: string[]): void {
  execFileSync(process.execPath, [join(root, 'packaging/build/build-packages.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

interface PackagedFile {
  mode: string;
  flags: string;
  path: string;
}

/** Every file of a package with its permissions and its flags (c config, n noreplace, g ghost, d doc). */
function packagedFiles(rpm: string): Map<string, PackagedFile> {
  const text = execFileSync(
    'rpm',
    ['-qp', '--queryformat', '[%{FILEMODES:perms} |%{FILEFLAGS:fflags}| %{FILENAMES}\n]', rpm],
    {
      encoding: 'utf8',
    },
  );
  const files = new Map<string, PackagedFile>();
  for (const line of text.trim().split('\n')) {
    const match = /^(\S+) \|([a-z]*)\| (.+)$/.exec(line);
    if (match) files.set(match[3]!, { mode: match[1]!, flags: match[2]!, path: match[3]! });
  }
  return files;
}

/** An agent.yaml and the three credential files it names, as "kubeha-agent enroll" would leave them. */
function placeAgentConfig(configPath: string, stateDir: string, extra = ''): void {
  mkdirSync(stateDir, { recursive: true });
  for (const file of ['ca.crt', 'agent.crt', 'agent.key'])
    writeFileSync(join(stateDir, file), 'PEM\n', { mode: 0o600 });
  writeFileSync(
    configPath,
    [
      'agentId: agent-0b7f3c2e-1d4a-4c8e-9f61-2a5b7c9d0e13',
      'coordinator: coordinator.example.com:7443',
      `stateDir: ${stateDir}`,
      'tls:',
      `  caFile: ${join(stateDir, 'ca.crt')}`,
      `  certFile: ${join(stateDir, 'agent.crt')}`,
      `  keyFile: ${join(stateDir, 'agent.key')}`,
      extra,
    ].join('\n'),
    { mode: 0o600 },
  );
}

beforeAll(() => {
  build(['--out', out, '--compression-level', '3']);
  build([
    '--out',
    newerOut,
    '--version',
    newerVersion,
    '--only',
    'kubeha-agent',
    '--no-tarball',
    '--compression-level',
    '3',
  ]);
  execFileSync('rpm', ['--root', scratch, '--initdb']);
}, 300_000);

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }
  rmSync(work, { recursive: true, force: true });
});

describe('npm run package', () => {
  it('GIVEN the build WHEN it finishes THEN dist holds both RPMs and both tarballs, named after package.json', () => {
    for (const file of [
      agentRpm,
      coordinatorRpm,
      join(out, `kubeha-agent-${version}-1.x86_64.tar.gz`),
      join(out, `kubeha-coordinator-${version}-1.x86_64.tar.gz`),
    ]) {
      expect(existsSync(file), file).toBe(true);
    }
    expect(run('rpm', ['-qp', '--queryformat', '%{NAME} %{VERSION} %{RELEASE} %{ARCH}', agentRpm]).stdout).toBe(
      `kubeha-agent ${version} 1 x86_64`,
    );
  });

  it('GIVEN both RPMs WHEN rpmlint checks them with packaging/kubeha.rpmlintrc THEN it reports no error', () => {
    const result = run('rpmlint', ['-r', join(root, 'packaging/kubeha.rpmlintrc'), agentRpm, coordinatorRpm]);
    expect(result.output).not.toMatch(/: E: /);
    expect(result.output).toMatch(/0 errors/);
    expect(result.status).toBe(0);
  });
});

describe('the agent RPM', () => {
  it('GIVEN rpm -qp WHEN listing its files THEN programs, runtime, bundle, proto, unit, configs and state dir have their modes', () => {
    const files = packagedFiles(agentRpm);
    const expected: Array<[string, string, string]> = [
      ['/usr/bin/kubeha-agent', '-rwxr-xr-x', ''],
      ['/usr/lib/kubeha/agent/node', '-rwxr-xr-x', ''],
      ['/usr/lib/kubeha/agent/lib/kubeha-agent.mjs', '-rw-r--r--', ''],
      ['/usr/lib/kubeha/agent/lib/kubeha/v1/agent.proto', '-rw-r--r--', ''],
      ['/usr/lib/systemd/system/kubeha-agent.service', '-rw-r--r--', ''],
      ['/usr/lib/tmpfiles.d/kubeha-agent.conf', '-rw-r--r--', ''],
      ['/run/keepalived-kubeha', 'drwxr-xr-x', 'g'],
      ['/usr/libexec/kubeha/check-apiserver', '-rwxr-xr-x', ''],
      ['/etc/sysconfig/kubeha-agent', '-rw-------', 'cn'],
      ['/etc/kubeha/agent.yaml', '-rw-------', 'cng'],
      ['/etc/kubeha', 'drwxr-xr-x', ''],
      ['/var/lib/kubeha', 'drwx------', ''],
    ];
    for (const [path, mode, flags] of expected) {
      expect(files.get(path), path).toEqual({ path, mode, flags });
    }
    expect([...files.keys()].filter((path) => path.startsWith('/usr/lib/.build-id'))).toEqual([]);
  });

  it('GIVEN rpm -qp --requires THEN it needs the tools the agent calls and glibc 2.28 for its Node', () => {
    const requires = run('rpm', ['-qp', '--requires', agentRpm]).stdout.split('\n');
    for (const name of [
      'iproute',
      'curl',
      'kmod',
      'procps-ng',
      'util-linux',
      'systemd',
      '/usr/sbin/getenforce',
      'policycoreutils',
    ])
      expect(requires).toContain(name);
    expect(requires).toContain('libc.so.6(GLIBC_2.28)(64bit)');
  });

  it('GIVEN rpm -qp --scripts THEN install and erase reload systemd, erase stops and disables, upgrade try-restarts', () => {
    const scripts = run('rpm', ['-qp', '--scripts', agentRpm]).stdout;
    const section = (name: string) => scripts.split(/\n(?=\S+ scriptlet)/).find((s) => s.startsWith(name)) ?? '';
    expect(section('postinstall')).toContain('systemctl daemon-reload');
    expect(section('postinstall')).toContain('systemd-tmpfiles --create kubeha-agent.conf');
    expect(section('preuninstall')).toMatch(
      /if \[ "\$1" -eq 0 \].*\n\s+systemctl --no-reload disable --now kubeha-agent\.service/,
    );
    expect(section('postuninstall')).toContain('systemctl daemon-reload');
    expect(section('postuninstall')).toMatch(
      /if \[ "\$1" -ge 1 \]; then\n\s+systemctl try-restart kubeha-agent\.service/,
    );
    expect(scripts).not.toContain('%systemd');
  });
});

describe('the coordinator RPM', () => {
  it('GIVEN rpm -qp WHEN listing its files THEN programs, CLI, runtime, bundles, swagger-ui assets, configs and state dir are there', () => {
    const files = packagedFiles(coordinatorRpm);
    const expected: Array<[string, string, string]> = [
      ['/usr/bin/kubeha-coordinator', '-rwxr-xr-x', ''],
      ['/usr/bin/kubeha', '-rwxr-xr-x', ''],
      ['/usr/lib/kubeha/coordinator/node', '-rwxr-xr-x', ''],
      ['/usr/lib/kubeha/coordinator/lib/kubeha-coordinator.mjs', '-rw-r--r--', ''],
      ['/usr/lib/kubeha/coordinator/lib/kubeha.mjs', '-rw-r--r--', ''],
      ['/usr/lib/kubeha/coordinator/lib/kubeha/v1/agent.proto', '-rw-r--r--', ''],
      ['/usr/lib/kubeha/coordinator/lib/swagger-ui/static/swagger-ui-bundle.js', '-rw-r--r--', ''],
      ['/usr/lib/systemd/system/kubeha-coordinator.service', '-rw-r--r--', ''],
      ['/etc/kubeha/coordinator.yaml', '-rw-------', 'cn'],
      ['/etc/sysconfig/kubeha-coordinator', '-rw-------', 'cn'],
      ['/var/lib/kubeha-coordinator', 'drwx------', ''],
    ];
    for (const [path, mode, flags] of expected) {
      expect(files.get(path), path).toEqual({ path, mode, flags });
    }
  });

  it('GIVEN rpm -qp --scripts THEN the coordinator service is reloaded, stopped on erase and try-restarted on upgrade', () => {
    const scripts = run('rpm', ['-qp', '--scripts', coordinatorRpm]).stdout;
    expect(scripts).toContain('systemctl daemon-reload');
    expect(scripts).toContain('systemctl --no-reload disable --now kubeha-coordinator.service');
    expect(scripts).toContain('systemctl try-restart kubeha-coordinator.service');
  });
});

describe('installed into a scratch root', () => {
  const agentConfig = join(scratch, 'etc/kubeha/agent.yaml');
  const agentState = join(scratch, 'var/lib/kubeha');

  beforeAll(() => {
    const installed = run('rpm', ['--root', scratch, '--nodeps', '--noscripts', '-ivh', agentRpm, coordinatorRpm]);
    expect(installed.status, installed.output).toBe(0);
  });

  it('GIVEN both packages WHEN installed together THEN they do not conflict and the modes on disk are the packaged ones', () => {
    expect(run('rpm', ['--root', scratch, '-q', 'kubeha-agent', 'kubeha-coordinator']).stdout).toBe(
      `kubeha-agent-${version}-1.x86_64\nkubeha-coordinator-${version}-1.x86_64\n`,
    );
    expect(statSync(join(scratch, 'var/lib/kubeha')).mode & 0o777).toBe(0o700);
    expect(statSync(join(scratch, 'var/lib/kubeha-coordinator')).mode & 0o777).toBe(0o700);
    expect(statSync(join(scratch, 'etc/kubeha/coordinator.yaml')).mode & 0o777).toBe(0o600);
    expect(existsSync(agentConfig)).toBe(false);
  });

  it('GIVEN the installed wrappers WHEN asked for --version THEN each answers from its bundled Node 24', () => {
    const node = run(join(scratch, 'usr/lib/kubeha/agent/node'), ['-p', 'process.version']);
    expect(node.stdout).toMatch(/^v24\./);
    // A node first on PATH that fails: only the runtime inside the scratch root can answer.
    const decoy = join(work, 'decoy-bin');
    mkdirSync(decoy, { recursive: true });
    writeFileSync(join(decoy, 'node'), '#!/bin/sh\necho "the decoy node ran" >&2\nexit 99\n', { mode: 0o755 });
    const env = { PATH: `${decoy}:/usr/bin:/bin` };
    expect(run(join(scratch, 'usr/bin/kubeha-agent'), ['--version'], { env }).stdout).toBe(`kubeha-agent ${version}\n`);
    expect(run(join(scratch, 'usr/bin/kubeha-coordinator'), ['--version'], { env }).stdout).toBe(
      `kubeha-coordinator ${version}\n`,
    );
    expect(run(join(scratch, 'usr/bin/kubeha'), ['version'], { env }).stdout).toBe(`kubeha ${version}\n`);
  });

  it('GIVEN an agent.yaml and its certificate files in the root WHEN validate-config runs THEN it accepts it, and refuses a broken one', () => {
    const config = join(work, 'validate', 'agent.yaml');
    mkdirSync(join(work, 'validate'), { recursive: true });
    placeAgentConfig(config, agentState);
    const valid = run(join(scratch, 'usr/bin/kubeha-agent'), ['validate-config', '--config', config]);
    expect(valid.status, valid.output).toBe(0);
    expect(valid.stdout).toContain(`${config} is valid (agent agent-0b7f3c2e-1d4a-4c8e-9f61-2a5b7c9d0e13`);

    placeAgentConfig(config, agentState, 'heartbeatIntervalSeconds: never');
    const invalid = run(join(scratch, 'usr/bin/kubeha-agent'), ['validate-config', '--config', config]);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toContain('heartbeatIntervalSeconds');
  });

  describe('the installed coordinator and agent together', () => {
    const dataDir = join(scratch, 'var/lib/kubeha-coordinator');
    let api = '';
    let adminToken = '';
    let coordinatorLogs = '';

    beforeAll(async () => {
      const grpcPort = await freePort();
      const apiPort = await freePort();
      const coordinator = spawn(
        join(scratch, 'usr/bin/kubeha-coordinator'),
        [
          '--config',
          join(scratch, 'etc/kubeha/coordinator.yaml'),
          '--data-dir',
          dataDir,
          '--grpc-listen',
          `127.0.0.1:${grpcPort}`,
          '--api-listen',
          `127.0.0.1:${apiPort}`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      children.push(coordinator);
      coordinator.stdout?.on('data', (chunk: Buffer) => {
        coordinatorLogs += chunk.toString();
      });
      api = `http://127.0.0.1:${apiPort}`;
      await waitFor('the installed coordinator', async () => (await fetch(`${api}/healthz`)).ok || undefined, 30_000);
      adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    }, 60_000);

    it('GIVEN the installed coordinator WHEN it runs THEN it logs JSON to stdout and serves /docs from its bundled assets', async () => {
      expect(coordinatorLogs).toMatch(/^\{.*"name":"kubeha-coordinator".*\}$/m);
      const css = await fetch(`${api}/docs/static/swagger-ui.css`);
      expect(css.status).toBe(200);
      expect(await css.text()).toContain('.swagger-ui');
      const openapi = (await (await fetch(`${api}/docs/json`)).json()) as { info: { version: string } };
      expect(openapi.info.version).toBe(version);
    });

    it('GIVEN a token from the installed CLI WHEN the installed agent enrolls and runs THEN the coordinator sees its heartbeat, and SIGTERM stops it cleanly', async () => {
      const created = run(join(scratch, 'usr/bin/kubeha'), ['--server', api, '--token', adminToken, 'token', 'create']);
      expect(created.status, created.output).toBe(0);
      const command = /kubeha-agent (enroll --coordinator \S+ --token \S+ --ca-cert-hash sha256:[0-9a-f]{64})/.exec(
        created.stdout,
      );
      expect(command, created.stdout).not.toBeNull();

      const enrolled = run(join(scratch, 'usr/bin/kubeha-agent'), [
        ...command![1]!.split(' '),
        '--config',
        agentConfig,
        '--state-dir',
        agentState,
      ]);
      expect(enrolled.status, enrolled.output).toBe(0);
      expect(statSync(agentConfig).mode & 0o777).toBe(0o600);
      expect(statSync(join(agentState, 'agent.key')).mode & 0o777).toBe(0o600);
      const agentId = /^agentId: (\S+)$/m.exec(readFileSync(agentConfig, 'utf8'))![1]!;
      // Off the default 127.0.0.1:7445, which another test or a real agent may hold.
      writeFileSync(
        agentConfig,
        `${readFileSync(agentConfig, 'utf8')}health:\n  listen: 127.0.0.1:${await freePort()}\n`,
      );

      const agent = spawn(join(scratch, 'usr/bin/kubeha-agent'), ['run', '--config', agentConfig], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(agent);
      let agentLogs = '';
      agent.stdout?.on('data', (chunk: Buffer) => {
        agentLogs += chunk.toString();
      });
      await waitFor(
        "the installed agent's heartbeat",
        async () => {
          const reply = await fetch(`${api}/v1/agents/${agentId}`, {
            headers: { authorization: `Bearer ${adminToken}` },
          });
          const row = (await reply.json()) as { connected?: boolean; lastHeartbeatAt?: string | null };
          return row.connected && row.lastHeartbeatAt ? row : undefined;
        },
        30_000,
      );
      expect(agentLogs).toMatch(/^\{.*"name":"kubeha-agent".*\}$/m);

      const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
      agent.kill('SIGTERM');
      expect(await exited).toBe(0);
    });
  });

  it('GIVEN an edited config WHEN the agent is upgraded to a newer build THEN the edit stays and the new default lands beside it as .rpmnew', () => {
    const sysconfig = join(scratch, 'etc/sysconfig/kubeha-agent');
    const edited = `${readFileSync(sysconfig, 'utf8')}KUBEHA_EDITED_BY_OPERATOR=yes\n`;
    writeFileSync(sysconfig, edited);
    const enrolled = readFileSync(agentConfig, 'utf8');

    const upgraded = run('rpm', ['--root', scratch, '--nodeps', '--noscripts', '-Uvh', newerAgentRpm]);
    expect(upgraded.status, upgraded.output).toBe(0);

    expect(readFileSync(sysconfig, 'utf8')).toBe(edited);
    expect(readFileSync(`${sysconfig}.rpmnew`, 'utf8')).toContain(`kubeha-agent ${newerVersion}`);
    expect(readFileSync(agentConfig, 'utf8')).toBe(enrolled);
    expect(run(join(scratch, 'usr/bin/kubeha-agent'), ['--version']).stdout).toBe(`kubeha-agent ${newerVersion}\n`);
    expect(run('rpm', ['--root', scratch, '-q', 'kubeha-agent']).stdout).toBe(
      `kubeha-agent-${newerVersion}-1.x86_64\n`,
    );
  });

  it('GIVEN both installed units WHEN systemd-analyze verify checks them THEN it prints nothing', () => {
    // systemd-analyze --root resolves the units' dependencies (sysinit.target, ...) inside the root: give it the host's.
    const units = join(scratch, 'usr/lib/systemd/system');
    for (const hostUnits of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
      if (existsSync(hostUnits)) cpSync(hostUnits, units, { recursive: true, force: false, errorOnExist: false });
    }
    for (const unit of ['kubeha-agent.service', 'kubeha-coordinator.service']) {
      const result = run('systemd-analyze', ['verify', `--root=${scratch}`, join(units, unit)]);
      expect(result.output, unit).toBe('');
      expect(result.status, unit).toBe(0);
    }
  });
  it('GIVEN an enrolled node WHEN the agent package is erased THEN its files go, and the enrollment and the edited config stay', () => {
    const erased = run('rpm', ['--root', scratch, '--nodeps', '--noscripts', '-e', 'kubeha-agent']);
    expect(erased.status, erased.output).toBe(0);
    expect(existsSync(join(scratch, 'usr/bin/kubeha-agent'))).toBe(false);
    expect(existsSync(join(scratch, 'usr/lib/kubeha/agent'))).toBe(false);
    expect(existsSync(join(scratch, 'usr/bin/kubeha-coordinator'))).toBe(true);
    expect(existsSync(agentConfig)).toBe(true);
    expect(existsSync(join(agentState, 'agent.key'))).toBe(true);
    expect(readFileSync(join(scratch, 'etc/sysconfig/kubeha-agent.rpmsave'), 'utf8')).toContain(
      'KUBEHA_EDITED_BY_OPERATOR=yes',
    );
  });
});

describe('the tarball', () => {
  it('GIVEN the agent tarball WHEN listed THEN it has the RPM layout, root-owned, with the same modes', () => {
    const listing = run('tar', ['-tvzf', join(out, `kubeha-agent-${version}-1.x86_64.tar.gz`)]).stdout;
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* \.\/usr\/bin\/kubeha-agent$/m);
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* \.\/usr\/lib\/kubeha\/agent\/node$/m);
    expect(listing).toMatch(/^-rw------- 0\/0 .* \.\/etc\/sysconfig\/kubeha-agent$/m);
    expect(listing).toMatch(/^drwx------ 0\/0 .* \.\/var\/lib\/kubeha\/$/m);
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* \.\/usr\/libexec\/kubeha\/check-apiserver$/m);
  });

  it('GIVEN the coordinator tarball unpacked under another prefix WHEN its wrappers run THEN they find their own runtime', () => {
    const prefix = join(work, 'opt-kubeha');
    mkdirSync(prefix);
    execFileSync('tar', ['-xzf', join(out, `kubeha-coordinator-${version}-1.x86_64.tar.gz`), '-C', prefix]);
    expect(run(join(prefix, 'usr/bin/kubeha-coordinator'), ['--version']).stdout).toBe(
      `kubeha-coordinator ${version}\n`,
    );
    expect(run(join(prefix, 'usr/bin/kubeha'), ['version']).stdout).toBe(`kubeha ${version}\n`);
  });
});
