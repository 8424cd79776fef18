import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { osReleaseFixture, supportedOsFixtures } from '../../test/fixtures/os-release/os-release-fixtures.ts';
import { FakeHost } from '../host/fake-host.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { kubePackagesStep } from './kube-packages.ts';

const rpmArgs = ['-q', '--queryformat', '%{NAME} %{VERSION}\\n', 'kubelet', 'kubeadm', 'kubectl'];
const installArgs = [
  'install',
  '-y',
  'kubelet-1.31.4',
  'kubeadm-1.31.4',
  'kubectl-1.31.4',
  '--disableexcludes=kubernetes',
];
const readOnly = ['rpm -q', 'systemctl is-enabled'];
const sideEffects = (host: FakeHost) => host.commandLines().filter((l) => !readOnly.some((r) => l.startsWith(r)));

function node(os: Parameters<typeof osReleaseFixture>[0], installed: Record<string, string> = {}) {
  const state = { installed: { ...installed }, enabled: false };
  const host = new FakeHost({ files: { '/etc/os-release': osReleaseFixture(os) } })
    .stub('rpm', rpmArgs, {
      exitCode: () => (Object.keys(state.installed).length === 3 ? 0 : 1),
      stdout: () =>
        ['kubelet', 'kubeadm', 'kubectl']
          .map((p) => (state.installed[p] ? `${p} ${state.installed[p]}\n` : `package ${p} is not installed\n`))
          .join(''),
    })
    .stub('dnf', installArgs, {
      effect: () => {
        state.installed = { kubelet: '1.31.4', kubeadm: '1.31.4', kubectl: '1.31.4' };
      },
    })
    .stub('systemctl', ['is-enabled', 'kubelet'], {
      exitCode: () => (state.enabled ? 0 : 1),
      stdout: () => (state.enabled ? 'enabled\n' : 'disabled\n'),
    })
    .stub('systemctl', ['enable', 'kubelet'], {
      effect: () => {
        state.enabled = true;
      },
    });
  return { host, state };
}

describe('kube-packages', () => {
  for (const os of supportedOsFixtures) {
    it(`GIVEN a fresh ${os} WHEN run twice THEN the repo, pinned packages and kubelet enable happen once`, async () => {
      const { host } = node(os);
      const first = await runStep(kubePackagesStep, { kubernetesVersion: '1.31.4' }, { host });
      expect(first.error).toBeUndefined();
      expect(sideEffects(host)).toEqual([
        'dnf install -y kubelet-1.31.4 kubeadm-1.31.4 kubectl-1.31.4 --disableexcludes=kubernetes',
        'systemctl enable kubelet',
      ]);
      expect(host.writes).toEqual([
        {
          path: '/etc/yum.repos.d/kubernetes.repo',
          mode: 0o644,
          content: [
            '# Written by kubeha (kube-packages): Kubernetes 1.31; exclude= keeps "dnf update" from moving these packages.',
            '[kubernetes]',
            'name=Kubernetes 1.31',
            'baseurl=https://pkgs.k8s.io/core:/stable:/v1.31/rpm/',
            'enabled=1',
            'gpgcheck=1',
            'gpgkey=https://pkgs.k8s.io/core:/stable:/v1.31/rpm/repodata/repomd.xml.key',
            'exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni',
            '',
          ].join('\n'),
        },
      ]);
      host.clearRecords();
      const second = await runStep(kubePackagesStep, { kubernetesVersion: '1.31.4' }, { host });
      expect(second).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
      expect(sideEffects(host)).toEqual([]);
      expect(host.writes).toEqual([]);
    });
  }

  it('GIVEN an older patch installed THEN it upgrades to the pinned version', async () => {
    const { host } = node('rocky-9', { kubelet: '1.31.2', kubeadm: '1.31.2', kubectl: '1.31.4' });
    const result = await runStep(kubePackagesStep, { kubernetesVersion: '1.31.4' }, { host, dryRun: true });
    expect(result.changes).toContain('install kubelet-1.31.4 kubeadm-1.31.4 (was 1.31.2, 1.31.2)');
  });

  it('GIVEN a newer kubelet installed THEN it refuses to downgrade, naming the package', async () => {
    const { host } = node('rocky-9', { kubelet: '1.32.0', kubeadm: '1.31.4', kubectl: '1.31.4' });
    const result = await runStep(kubePackagesStep, { kubernetesVersion: '1.31.4' }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toContain('kubelet 1.32.0 installed, newer than 1.31.4');
    expect(sideEffects(host)).toEqual([]);
  });

  it('GIVEN a mirror repository THEN baseurl and gpgkey point at it', async () => {
    const { host } = node('rhel-9');
    await runStep(
      kubePackagesStep,
      { kubernetesVersion: '1.31.4', repoBaseUrl: 'https://repo.example.com/k8s/v1.31/rpm' },
      { host },
    );
    expect(host.file('/etc/yum.repos.d/kubernetes.repo')).toContain(
      'baseurl=https://repo.example.com/k8s/v1.31/rpm/\nenabled=1\ngpgcheck=1\ngpgkey=https://repo.example.com/k8s/v1.31/rpm/repodata/repomd.xml.key\n',
    );
  });

  it('GIVEN a mirror without signatures (gpgKeyUrl "none") THEN the repository is not signature-checked; GIVEN a key URL THEN that key', async () => {
    const { host } = node('rhel-9');
    const base = 'https://repo.example.com/k8s/v1.31/rpm/';
    await runStep(kubePackagesStep, { kubernetesVersion: '1.31.4', repoBaseUrl: base, gpgKeyUrl: 'none' }, { host });
    expect(host.file('/etc/yum.repos.d/kubernetes.repo')).toContain(
      `baseurl=${base}\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=0\n`,
    );
    const other = node('rhel-9').host;
    const key = 'https://keys.example.com/k8s.key';
    await runStep(
      kubePackagesStep,
      { kubernetesVersion: '1.31.4', repoBaseUrl: base, gpgKeyUrl: key },
      { host: other },
    );
    expect(other.file('/etc/yum.repos.d/kubernetes.repo')).toContain(`gpgcheck=1\ngpgkey=${key}\n`);
    const refused = await runStep(
      kubePackagesStep,
      { kubernetesVersion: '1.31.4', repoBaseUrl: base, gpgKeyUrl: 'off' },
      { host: node('rhel-9').host },
    );
    expect(refused.error?.code).toBe(ErrorCode.paramsInvalid);
  });

  it('refuses invalid versions and URLs before any command runs', async () => {
    for (const bad of [
      { kubernetesVersion: '1.31.4-0' },
      { kubernetesVersion: '1.31.*' },
      { kubernetesVersion: '1.31.4 kernel' },
      { kubernetesVersion: '1.31.4', repoBaseUrl: 'https://r.example.com/`id`' },
      { kubernetesVersion: '1.31.4', repoBaseUrl: 'file:///etc/shadow' },
      {},
    ]) {
      const host = new FakeHost();
      const result = await runStep(kubePackagesStep, bad, { host });
      expect(result.error?.code, JSON.stringify(bad)).toBe(ErrorCode.paramsInvalid);
      expect(host.commands).toEqual([]);
    }
  });
});
