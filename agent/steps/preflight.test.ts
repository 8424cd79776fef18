import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { osReleaseFixture, supportedOsFixtures } from '../../test/fixtures/os-release/os-release-fixtures.ts';
import { FakeHost } from '../host/fake-host.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { containerdConflicts, parseListeners, preflightStep } from './preflight.ts';

const ssArgs = ['-H', '-t', '-l', '-n', '-p'];
const timeSyncArgs = ['is-active', 'chronyd.service', 'systemd-timesyncd.service', 'ntpd.service'];
const cp = { role: 'control-plane', kubernetesVersion: '1.31.4', lbPort: 16443 };

/** The RPM database: containerd.io and the packages it conflicts with, none installed unless given. */
function withPackages(host: FakeHost, installed: string[] = []): FakeHost {
  const names = ['containerd.io', ...containerdConflicts];
  const line = (p: string) => (installed.includes(p) ? `${p} 1.0` : `package ${p} is not installed`);
  return host.stub('rpm', ['-q', '--queryformat', '%{NAME} %{VERSION}\\n', ...names], {
    exitCode: names.filter((p) => !installed.includes(p)).length,
    stdout: `${names.map(line).join('\n')}\n`,
  });
}

function nodeWith(os: Parameters<typeof osReleaseFixture>[0], facts: ConstructorParameters<typeof FakeHost>[0] = {}) {
  return withPackages(new FakeHost({ ...facts, files: { '/etc/os-release': osReleaseFixture(os), ...facts.files } }))
    .stub('ss', ssArgs, { stdout: 'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=812,fd=3))\n' })
    .stub('systemctl', timeSyncArgs, { exitCode: 3, stdout: 'active\ninactive\ninactive\n' });
}

describe('preflight', () => {
  for (const os of supportedOsFixtures) {
    it(`GIVEN ${os} with enough CPU and memory WHEN run THEN it passes, reads only, and reports the facts`, async () => {
      const host = nodeWith(os);
      const result = await runStep(preflightStep, cp, { host });
      expect(result.error).toBeUndefined();
      expect(result).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
      expect(host.commandLines()).toEqual([
        'ss -H -t -l -n -p',
        'systemctl is-active chronyd.service systemd-timesyncd.service ntpd.service',
        `rpm -q --queryformat '%{NAME} %{VERSION}\\n' containerd.io ${containerdConflicts.join(' ')}`,
      ]);
      expect(host.writes).toEqual([]);
      expect(result.outputs).toMatchObject({
        hostname: 'node1',
        macs: '52:54:00:12:34:56',
        productUuid: '4c4c4544-0042-3510-8052-b4c04f4e4432',
        machineId: 'f0e1d2c3b4a5968778695a4b3c2d1e0f',
        addresses: '192.168.1.10/24',
        defaultRouteInterface: 'eth0',
        cgroupVersion: '2',
      });
    });
  }

  it('GIVEN CentOS 7 THEN it refuses with the detected release and the reason', async () => {
    const result = await runStep(preflightStep, cp, { host: nodeWith('centos-7') });
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ code: ErrorCode.stepFailed, deterministic: true });
    expect(result.error?.message).toContain('unsupported OS: CentOS Linux 7 (Core) (ID=centos, VERSION_ID=7)');
    expect(result.error?.message).toContain('glibc 2.17 cannot run Node.js 24');
  });

  it('GIVEN Ubuntu THEN it refuses naming the distribution', async () => {
    const result = await runStep(preflightStep, { ...cp, role: 'worker' }, { host: nodeWith('ubuntu-22.04') });
    expect(result.error?.message).toContain(
      'unsupported OS: Ubuntu 22.04.4 LTS (ID=ubuntu, VERSION_ID=22.04) is not supported',
    );
  });

  it('GIVEN a control plane with 1 GiB of memory and 1 CPU THEN both facts are named', async () => {
    const host = nodeWith('rocky-9', { facts: { memoryBytes: 1024 * 1024 * 1024, cpuCount: 1 } });
    const result = await runStep(preflightStep, cp, { host });
    expect(result.error?.message).toContain('memory: 1024 MB, a control plane needs at least 1700 MB');
    expect(result.error?.message).toContain('CPU: 1 CPU(s), a control plane needs at least 2');
  });

  it('GIVEN a worker with 1 GiB THEN memory is not checked', async () => {
    const host = nodeWith('rocky-9', { facts: { memoryBytes: 1024 * 1024 * 1024, cpuCount: 1 } });
    const result = await runStep(preflightStep, { ...cp, role: 'worker', lbPort: 0 }, { host });
    expect(result.outcome).toBe('succeeded');
  });

  it('GIVEN port 2379 held by another process THEN it names the port and the holder', async () => {
    const host = withPackages(new FakeHost({ files: { '/etc/os-release': osReleaseFixture('rhel-9') } }))
      .stub('ss', ssArgs, {
        stdout: [
          'LISTEN 0      4096       127.0.0.1:2379       0.0.0.0:*    users:(("etcd",pid=4242,fd=7))',
          'LISTEN 0      4096               *:16443            *:*    users:(("haproxy",pid=99,fd=5))',
          '',
        ].join('\n'),
      })
      .stub('systemctl', timeSyncArgs, { exitCode: 3, stdout: 'active\n' });
    const result = await runStep(preflightStep, cp, { host });
    expect(result.error?.message).toContain('port 2379/tcp is in use by etcd (pid 4242)');
    // Our own HAProxy on the frontend port is not a conflict.
    expect(result.error?.message).not.toContain('16443');
  });

  it('GIVEN cgroup v1 and Kubernetes 1.35 THEN it refuses naming cgroup v1; 1.34 passes', async () => {
    const v1 = { facts: { cgroupVersion: 1 } };
    const refused = await runStep(
      preflightStep,
      { ...cp, kubernetesVersion: '1.35.0' },
      { host: nodeWith('centos-stream-8', v1) },
    );
    expect(refused.error?.message).toContain('cgroup v1: this host mounts cgroup v1 and Kubernetes 1.35.0');
    const allowed = await runStep(
      preflightStep,
      { ...cp, kubernetesVersion: '1.34.2' },
      { host: nodeWith('centos-stream-8', v1) },
    );
    expect(allowed.outcome).toBe('succeeded');
  });

  it('GIVEN cgroup v1, Kubernetes 1.37 and allowCgroupV1 THEN it passes with a warning naming the setting', async () => {
    const logs: string[] = [];
    const result = await runStep(
      preflightStep,
      { ...cp, kubernetesVersion: '1.37.2', allowCgroupV1: true },
      { host: nodeWith('rocky-9', { facts: { cgroupVersion: 1 } }), onLog: (_stream, text) => logs.push(text) },
    );
    expect(result.outcome).toBe('succeeded');
    expect(logs.join('\n')).toContain(
      'warning: cgroup v1 with Kubernetes 1.37.2: allowed by spec.hostPolicy.allowCgroupV1',
    );
  });

  it('GIVEN leftover manifests and kubelet.conf THEN it names them unless the node is already a member', async () => {
    const files = {
      '/etc/kubernetes/manifests/etcd.yaml': 'x',
      '/etc/kubernetes/manifests/kube-apiserver.yaml': 'x',
      '/etc/kubernetes/kubelet.conf': 'x',
    };
    const refused = await runStep(preflightStep, cp, { host: nodeWith('rocky-9', { files }) });
    expect(refused.error?.message).toContain(
      'leftovers of an earlier cluster: /etc/kubernetes/manifests/etcd.yaml, /etc/kubernetes/manifests/kube-apiserver.yaml, /etc/kubernetes/kubelet.conf',
    );
    const member = nodeWith('rocky-9', { files });
    const rerun = await runStep(preflightStep, { ...cp, alreadyMember: true }, { host: member });
    expect(rerun.outcome).toBe('succeeded');
    expect(member.commandLines()).not.toContain('ss -H -t -l -n -p');
  });

  it('GIVEN a node the coordinator calls a member WHEN it has no kubelet.conf THEN preflight says the record and the node disagree', async () => {
    const host = nodeWith('rocky-9', {});
    const result = await runStep(preflightStep, { ...cp, alreadyMember: true }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toContain(
      'recorded this node as a member of the cluster, but it has no /etc/kubernetes/kubelet.conf',
    );
  });

  it('GIVEN no time sync service active THEN it says so', async () => {
    const host = withPackages(new FakeHost({ files: { '/etc/os-release': osReleaseFixture('rocky-9') } }))
      .stub('ss', ssArgs, { stdout: '' })
      .stub('systemctl', timeSyncArgs, { exitCode: 3, stdout: 'inactive\ninactive\ninactive\n' });
    const result = await runStep(preflightStep, cp, { host });
    expect(result.error?.message).toContain('time sync: none of chronyd.service');
  });

  it('GIVEN podman, buildah and runc installed THEN it names the packages containerd.io conflicts with and the way out', async () => {
    const host = withPackages(nodeWith('rocky-9'), ['runc', 'podman', 'buildah']);
    const result = await runStep(preflightStep, { ...cp, role: 'worker', lbPort: 0 }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toContain(
      'containerd.io conflicts with the installed runc, podman, buildah (it obsoletes runc; podman and buildah need runc): remove them first (dnf remove runc podman buildah) or set spec.hostPolicy.allowErasing: true',
    );
  });

  it('GIVEN the same packages and allowErasing THEN it passes with a warning', async () => {
    const host = withPackages(nodeWith('rocky-9'), ['runc', 'podman', 'buildah']);
    const logs: string[] = [];
    const result = await runStep(
      preflightStep,
      { ...cp, role: 'worker', lbPort: 0, allowErasing: true },
      { host, onLog: (_s, l) => logs.push(l) },
    );
    expect(result.error).toBeUndefined();
    expect(logs.join('\n')).toContain('warning: containerd.io conflicts with the installed runc, podman, buildah');
  });

  it('GIVEN containerd.io already installed (a re-run) beside runc THEN no conflict is reported', async () => {
    const host = withPackages(nodeWith('rocky-9'), ['containerd.io', 'runc']);
    const result = await runStep(preflightStep, { ...cp, role: 'worker', lbPort: 0 }, { host });
    expect(result.error).toBeUndefined();
  });

  it('refuses bad parameters before any command runs', async () => {
    for (const params of [
      { ...cp, kubernetesVersion: '1.31.4; reboot' },
      { ...cp, kubernetesVersion: 'v1.31' },
      { ...cp, role: 'master' },
      { ...cp, lbPort: 6443 },
      { ...cp, extra: 'x' },
    ]) {
      const host = new FakeHost();
      const result = await runStep(preflightStep, params, { host });
      expect(result.error?.code).toBe(ErrorCode.paramsInvalid);
      expect(host.commands).toEqual([]);
    }
  });
});

describe('parseListeners', () => {
  it('reads IPv4, IPv6, wildcard and interface-scoped addresses', () => {
    const out = [
      'LISTEN 0 4096 [::]:10250 [::]:* users:(("kubelet",pid=10,fd=3))',
      'LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=7,fd=14))',
      'LISTEN 0 4096 *:6443 *:*',
    ].join('\n');
    expect(parseListeners(out)).toEqual([
      { port: 10250, process: 'kubelet', pid: 10 },
      { port: 53, process: 'systemd-resolve', pid: 7 },
      { port: 6443, process: 'unknown', pid: undefined },
    ]);
  });
});
