import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { osReleaseFixture, supportedOsFixtures } from '../../test/fixtures/os-release/os-release-fixtures.ts';
import { FakeHost } from '../host/fake-host.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { containerRuntimeStep } from './container-runtime.ts';

const defaults = {
  '1.7': readFileSync(new URL('../../test/fixtures/containerd/config-default-1.7.toml', import.meta.url), 'utf8'),
  '2.0': readFileSync(new URL('../../test/fixtures/containerd/config-default-2.0.toml', import.meta.url), 'utf8'),
};
const ctrArgs = ['--address', '/run/containerd/containerd.sock', 'plugins', 'ls'];
const ctrOk =
  'TYPE                                   ID                       PLATFORMS      STATUS\nio.containerd.grpc.v1                  cri                      linux/amd64    ok\n';
const readOnly = ['rpm -q', 'containerd config default', 'systemctl is-', 'ctr '];
const sideEffects = (host: FakeHost) => host.commandLines().filter((l) => !readOnly.some((r) => l.startsWith(r)));

/** A node without containerd; dnf install makes it appear, systemctl enable --now starts it. */
function freshNode(os: Parameters<typeof osReleaseFixture>[0], containerd: keyof typeof defaults = '1.7') {
  const state = { installed: false, active: false, enabled: false, restarts: 0 };
  const host = new FakeHost({ files: { '/etc/os-release': osReleaseFixture(os) } })
    .stub('rpm', ['-q', '--queryformat', '%{NAME} %{VERSION}\\n', 'containerd.io'], {
      exitCode: () => (state.installed ? 0 : 1),
      stdout: () => (state.installed ? 'containerd.io 1.7.22\n' : 'package containerd.io is not installed\n'),
    })
    .stub('dnf', ['install', '-y', 'containerd.io'], {
      effect: () => {
        state.installed = true;
      },
    })
    .stub('dnf', ['install', '-y', '--allowerasing', 'containerd.io'], {
      effect: () => {
        state.installed = true;
      },
    })
    .stub('containerd', ['config', 'default'], { stdout: defaults[containerd] })
    .stub('systemctl', ['is-active', 'containerd'], { stdout: () => (state.active ? 'active\n' : 'inactive\n') })
    .stub('systemctl', ['is-enabled', 'containerd'], { stdout: () => (state.enabled ? 'enabled\n' : 'disabled\n') })
    .stub('systemctl', ['enable', '--now', 'containerd'], {
      effect: () => {
        state.active = true;
        state.enabled = true;
      },
    })
    .stub('systemctl', ['restart', 'containerd'], { effect: () => void state.restarts++ })
    .stub('ctr', ctrArgs, { stdout: ctrOk });
  return { host, state };
}

const params = { kubernetesVersion: '1.31.4' };

describe('container-runtime', () => {
  it('GIVEN allowErasing WHEN containerd.io is installed THEN dnf may replace what conflicts with it', async () => {
    const { host } = freshNode('rocky-9');
    const result = await runStep(containerRuntimeStep, { ...params, allowErasing: true }, { host });
    expect(result.error).toBeUndefined();
    expect(sideEffects(host)).toContain('dnf install -y --allowerasing containerd.io');
  });

  for (const os of supportedOsFixtures) {
    it(`GIVEN a fresh ${os} WHEN run twice THEN it installs and configures containerd once`, async () => {
      const { host } = freshNode(os);
      const first = await runStep(containerRuntimeStep, params, { host });
      expect(first.error).toBeUndefined();
      expect(first.changed).toBe(true);
      expect(sideEffects(host)).toEqual(['dnf install -y containerd.io', 'systemctl enable --now containerd']);
      const base =
        os === 'rhel-9' ? 'https://download.docker.com/linux/rhel' : 'https://download.docker.com/linux/centos';
      expect(host.writes.map((w) => w.path)).toEqual([
        '/etc/yum.repos.d/docker-ce.repo',
        '/etc/containerd/config.toml',
        '/etc/crictl.yaml',
      ]);
      expect(host.file('/etc/yum.repos.d/docker-ce.repo')).toContain(
        `[docker-ce-stable]\nname=Docker CE Stable - $basearch\nbaseurl=${base}/$releasever/$basearch/stable\nenabled=1\ngpgcheck=1\ngpgkey=${base}/gpg\n`,
      );
      const config = host.file('/etc/containerd/config.toml') ?? '';
      expect(config).toContain('            SystemdCgroup = true\n');
      expect(config).not.toContain('SystemdCgroup = false');
      expect(config).toContain('    sandbox_image = "registry.k8s.io/pause:3.10"\n');
      expect(config).toContain('disabled_plugins = []');
      expect(host.file('/etc/crictl.yaml')).toBe(
        '# Written by kubeha (container-runtime).\nruntime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 10\n',
      );
      expect(host.commandLines()).toContain('ctr --address /run/containerd/containerd.sock plugins ls');
      expect(first.outputs).toEqual({ cgroupDriver: 'systemd' });

      host.clearRecords();
      const second = await runStep(containerRuntimeStep, params, { host });
      expect(second).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
      expect(sideEffects(host)).toEqual([]);
      expect(host.writes).toEqual([]);
    });
  }

  it('GIVEN containerd 2.x THEN it writes the version 3 keys', async () => {
    const { host } = freshNode('rocky-9', '2.0');
    const result = await runStep(containerRuntimeStep, { kubernetesVersion: '1.34.1' }, { host });
    expect(result.error).toBeUndefined();
    const config = host.file('/etc/containerd/config.toml') ?? '';
    expect(config).toContain(
      "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\n            SystemdCgroup = true\n            BinaryName = ''",
    );
    expect(config).toContain(
      '[plugins.\'io.containerd.cri.v1.images\'.pinned_images]\n      sandbox = "registry.k8s.io/pause:3.10.1"\n',
    );
  });

  it('GIVEN registry mirrors and a repository mirror on a running containerd THEN it writes hosts.toml and restarts containerd', async () => {
    const { host, state } = freshNode('centos-stream-8');
    Object.assign(state, { installed: true, active: true, enabled: true });
    const result = await runStep(
      containerRuntimeStep,
      {
        ...params,
        repoBaseUrl: 'https://mirror.example.com/docker-ce/linux/centos',
        sandboxImage: 'registry.example.com/k8s/pause:3.10',
        mirrors: [{ registry: 'docker.io', endpoints: ['https://mirror.example.com:5000'] }],
      },
      { host },
    );
    expect(result.error).toBeUndefined();
    expect(sideEffects(host)).toEqual(['systemctl restart containerd']);
    expect(host.file('/etc/yum.repos.d/docker-ce.repo')).toContain(
      'baseurl=https://mirror.example.com/docker-ce/linux/centos/$releasever/$basearch/stable\n',
    );
    expect(host.file('/etc/containerd/certs.d/docker.io/hosts.toml')).toBe(
      '# Written by kubeha (container-runtime): mirrors for docker.io.\nserver = "https://registry-1.docker.io"\n\n[host."https://mirror.example.com:5000"]\n  capabilities = ["pull", "resolve"]\n',
    );
    const config = host.file('/etc/containerd/config.toml') ?? '';
    expect(config).toContain(
      '    [plugins."io.containerd.grpc.v1.cri".registry]\n      config_path = "/etc/containerd/certs.d"\n',
    );
    expect(config).toContain('sandbox_image = "registry.example.com/k8s/pause:3.10"');
  });

  it('GIVEN an image repository mirror and an unsigned package mirror THEN the pause image comes from the mirror and the repository is not signature-checked', async () => {
    const { host } = freshNode('centos-stream-8');
    const result = await runStep(
      containerRuntimeStep,
      {
        ...params,
        repoBaseUrl: 'https://mirror.example.com/docker-ce/linux/centos',
        gpgKeyUrl: 'none',
        imageRepository: 'registry.example.com:5000/k8s',
      },
      { host },
    );
    expect(result.error).toBeUndefined();
    expect(host.file('/etc/yum.repos.d/docker-ce.repo')).toContain('enabled=1\ngpgcheck=0\n');
    expect(host.file('/etc/yum.repos.d/docker-ce.repo')).not.toContain('gpgkey=');
    expect(host.file('/etc/containerd/config.toml') ?? '').toMatch(
      /sandbox_image = "registry\.example\.com:5000\/k8s\/pause:3\.[0-9.]+"/,
    );
  });

  it('GIVEN the CRI plugin never answers THEN verify fails after its bounded wait, naming the socket', async () => {
    vi.useFakeTimers();
    try {
      const { host, state } = freshNode('rocky-9');
      Object.assign(state, { installed: true, active: true, enabled: true });
      // The latest stub wins: ctr now reports the cri plugin in error.
      host.stub('ctr', ctrArgs, { stdout: ctrOk.replace(' ok', ' error') });
      const pending = runStep(containerRuntimeStep, params, { host });
      await vi.runAllTimersAsync();
      const result = await pending;
      expect(result.outcome).toBe('failed');
      expect(result.error?.message).toContain(
        'the CRI socket /run/containerd/containerd.sock does not answer after 10 s',
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses URLs, registries and images with metacharacters before any command runs', async () => {
    for (const bad of [
      { ...params, repoBaseUrl: 'https://x.example.com/$(reboot)' },
      { ...params, repoBaseUrl: 'ftp://x.example.com/' },
      { ...params, repoBaseUrl: 'https://x.example.com/a b' },
      { ...params, repoBaseUrl: 'https://x.example.com/\nenabled=0' },
      { ...params, mirrors: [{ registry: 'docker.io;rm', endpoints: ['https://m.example.com'] }] },
      { ...params, mirrors: [{ registry: 'docker.io', endpoints: ['https://m.example.com/"x'] }] },
      { ...params, sandboxImage: 'pause:3.10 --privileged' },
      { kubernetesVersion: '1.31' },
    ]) {
      const host = new FakeHost();
      const result = await runStep(containerRuntimeStep, bad, { host });
      expect(result.error?.code, JSON.stringify(bad)).toBe(ErrorCode.paramsInvalid);
      expect(host.commands).toEqual([]);
    }
  });
});
