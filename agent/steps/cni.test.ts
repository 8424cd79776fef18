import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { calicoManifest, flannelManifest } from '../kubeadm/cni-manifest.fixture.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { cniStep, defaultCniManifestUrls } from './cni.ts';

const admin = ['--kubeconfig', '/etc/kubernetes/admin.conf'];
const url = 'https://github.com/flannel-io/flannel/releases/download/v0.26.1/kube-flannel.yml';
const curlFor = (u: string, protocols = '=https') => [
  '-fsSL',
  '--proto',
  protocols,
  '--proto-redir',
  protocols,
  '--retry',
  '3',
  '--max-time',
  '120',
  u,
];
const curl = curlFor(url);
const flannel = {
  plugin: 'flannel',
  manifestUrl: url,
  manifestPath: '',
  podSubnet: '10.10.0.0/16',
  rolloutTimeoutSeconds: 0,
};
const getDs = (ns: string, name: string) => [
  ...admin,
  '-n',
  ns,
  'get',
  'daemonset',
  name,
  '--ignore-not-found',
  '-o',
  'json',
];
const rollout = (ns: string, name: string) => [
  ...admin,
  '-n',
  ns,
  'rollout',
  'status',
  `daemonset/${name}`,
  '--timeout=300s',
];

const applyFlannel = [
  ...admin,
  'apply',
  '--server-side',
  '--force-conflicts',
  '-f',
  '/var/lib/kubeha/cni/flannel.yaml',
];

function controlPlane(files: Record<string, string> = {}): FakeHost {
  return new FakeHost({ files: { '/etc/kubernetes/admin.conf': 'x', ...files } });
}

describe('cni', () => {
  it('GIVEN flannel from a URL WHEN installed THEN the manifest gets the pod CIDR, is applied and its rollout awaited', async () => {
    const host = controlPlane();
    host.stub('curl', curl, { stdout: flannelManifest });
    host.expect('kubectl', applyFlannel);
    host.expect('kubectl', getDs('kube-flannel', 'kube-flannel-ds'), { stdout: '{"kind":"DaemonSet"}' });
    host.expect('kubectl', rollout('kube-flannel', 'kube-flannel-ds'), {
      stdout: 'daemon set "kube-flannel-ds" successfully rolled out\n',
    });
    const result = await runStep(cniStep, flannel, { host });
    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes).toEqual([
      'write /var/lib/kubeha/cni/flannel.yaml (pod network 10.10.0.0/16)',
      'kubectl apply --server-side -f /var/lib/kubeha/cni/flannel.yaml',
    ]);
    expect(host.file('/var/lib/kubeha/cni/flannel.yaml')).toContain('"Network": "10.10.0.0/16"');
    expect(host.file('/etc/NetworkManager/conf.d/calico.conf')).toBeUndefined();
  });

  it('GIVEN flannel already applied WHEN run again THEN nothing changes, the rollout is still awaited', async () => {
    const host = controlPlane();
    host.stub('curl', curl, { stdout: flannelManifest });
    host.stub('kubectl', applyFlannel);
    host.stub('kubectl', getDs('kube-flannel', 'kube-flannel-ds'), { stdout: '{"kind":"DaemonSet"}' });
    host.stub('kubectl', rollout('kube-flannel', 'kube-flannel-ds'));
    await runStep(cniStep, flannel, { host });
    host.clearRecords();
    const again = await runStep(cniStep, flannel, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false });
    expect(host.commandLines().filter((c) => c.includes(' apply '))).toEqual([]);
  });

  it('GIVEN calico from a local file WHEN installed THEN CALICO_IPV4POOL_CIDR is set and NetworkManager is told and reloaded', async () => {
    const host = controlPlane({ '/opt/kubeha/calico.yaml': calicoManifest });
    host.stub('systemctl', ['is-active', 'NetworkManager'], { stdout: 'active\n' });
    host.expect('systemctl', ['reload', 'NetworkManager']);
    host.expect('kubectl', [
      ...admin,
      'apply',
      '--server-side',
      '--force-conflicts',
      '-f',
      '/var/lib/kubeha/cni/calico.yaml',
    ]);
    host.expect('kubectl', getDs('kube-system', 'calico-node'), { stdout: '{"kind":"DaemonSet"}' });
    host.expect('kubectl', rollout('kube-system', 'calico-node'));
    const result = await runStep(
      cniStep,
      { plugin: 'calico', manifestPath: '/opt/kubeha/calico.yaml', podSubnet: '10.244.0.0/16' },
      { host },
    );
    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('succeeded');
    expect(host.file('/var/lib/kubeha/cni/calico.yaml')).toMatch(
      /name: "?CALICO_IPV4POOL_CIDR"?\s+value: "10\.244\.0\.0\/16"/,
    );
    expect(host.file('/etc/NetworkManager/conf.d/calico.conf')).toContain(
      'unmanaged-devices=interface-name:cali*;interface-name:tunl*',
    );
  });

  it("GIVEN the rollout does not finish WHEN run THEN the step fails with kubectl's message", async () => {
    const host = controlPlane();
    host.stub('curl', curl, { stdout: flannelManifest });
    host.stub('kubectl', applyFlannel);
    host.stub('kubectl', getDs('kube-flannel', 'kube-flannel-ds'), { stdout: '{}' });
    host.stub('kubectl', rollout('kube-flannel', 'kube-flannel-ds'), {
      exitCode: 1,
      stderr: 'error: timed out waiting for the condition\n',
    });
    const result = await runStep(cniStep, flannel, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.stderrTail).toBe('error: timed out waiting for the condition');
  });

  it('GIVEN neither a URL nor a path WHEN run THEN the pinned release manifest of the plugin is fetched', async () => {
    const host = controlPlane();
    host.expect('curl', curlFor(defaultCniManifestUrls.calico), {
      stdout: calicoManifest,
    });
    const result = await runStep(
      cniStep,
      { plugin: 'calico', manifestUrl: '', manifestPath: '', podSubnet: '10.244.0.0/16', rolloutTimeoutSeconds: 0 },
      { host, dryRun: true },
    );
    host.assertNoPendingExpectations();
    expect(result.changes).toContain('write /var/lib/kubeha/cni/calico.yaml (pod network 10.244.0.0/16)');
  });

  it('GIVEN both a URL and a path, or a URL with shell characters WHEN parsed THEN invalid', async () => {
    const both = await runStep(cniStep, { ...flannel, manifestPath: '/tmp/x.yaml' }, { host: controlPlane() });
    expect(both.error?.message).toContain('give manifestUrl or manifestPath, not both');
    const evil = await runStep(
      cniStep,
      { ...flannel, manifestUrl: 'https://x.io/a.yml;reboot' },
      { host: controlPlane() },
    );
    expect(evil.error?.code).toBe('KUBEHA_PARAMS_INVALID');
  });

  it('GIVEN a pinned sha256 WHEN the download has another THEN the step fails naming both; the right one passes', async () => {
    const pinned = createHash('sha256').update(flannelManifest).digest('hex');
    const tampered = controlPlane();
    tampered.stub('curl', curl, { stdout: `${flannelManifest}\n# injected\n` });
    const refused = await runStep(cniStep, { ...flannel, manifestSha256: pinned }, { host: tampered, dryRun: true });
    expect(refused.outcome).toBe('failed');
    expect(refused.error?.message).toMatch(new RegExp(`has sha256 [0-9a-f]{64}, not the pinned ${pinned}: refused`));

    const good = controlPlane();
    good.stub('curl', curl, { stdout: flannelManifest });
    const accepted = await runStep(cniStep, { ...flannel, manifestSha256: pinned }, { host: good, dryRun: true });
    expect(accepted.outcome).toBe('succeeded');
  });

  it('GIVEN no pin WHEN the manifest is downloaded THEN the step reports its sha256 for the coordinator to pin', async () => {
    const host = controlPlane();
    host.stub('curl', curl, { stdout: flannelManifest });
    const result = await runStep(cniStep, flannel, { host, dryRun: true });
    expect(result.outputs['manifestSha256']).toBe(createHash('sha256').update(flannelManifest).digest('hex'));
  });

  it('GIVEN an http:// URL WHEN the spec does not allow http THEN invalid; allowed, curl may use http', async () => {
    const plain = 'http://mirror.example/kube-flannel.yml';
    const refused = await runStep(cniStep, { ...flannel, manifestUrl: plain }, { host: controlPlane() });
    expect(refused.error?.code).toBe('KUBEHA_PARAMS_INVALID');
    expect(refused.error?.message).toContain('manifestUrl: http:// only when the spec allows it');

    const host = controlPlane();
    host.expect('curl', curlFor(plain, '=http,https'), { stdout: flannelManifest });
    const allowed = await runStep(cniStep, { ...flannel, manifestUrl: plain, allowHttp: true }, { host, dryRun: true });
    host.assertNoPendingExpectations();
    expect(allowed.outcome).toBe('succeeded');
  });
});
