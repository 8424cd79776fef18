import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { fixtureCaHash, fixtureCertificateKey, fixtureToken } from '../kubeadm/kubeadm-init-output.fixture.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { kubeadmJoinStep } from './kubeadm-join.ts';

const joinArgs = ['join', '--config', '/var/lib/kubeha/kubeadm/join-config.yaml'];

const worker = {
  kubernetesVersion: '1.31.4',
  controlPlaneEndpoint: '10.152.0.6:16443',
  advertiseAddress: '192.168.1.20',
  nodeName: 'k8s-worker1',
  controlPlane: false,
  bootstrapToken: fixtureToken,
  caCertHashes: [fixtureCaHash],
  certificateKey: '',
};
const controlPlane = {
  ...worker,
  advertiseAddress: '192.168.1.11',
  nodeName: 'k8s-master2',
  controlPlane: true,
  certificateKey: fixtureCertificateKey,
};

function joinsAsWorker(host: FakeHost): void {
  host.setFile('/etc/kubernetes/kubelet.conf', 'apiVersion: v1\n', 0o600);
  host.setFile('/etc/kubernetes/pki/ca.crt', 'CA\n');
}
function joinsAsControlPlane(host: FakeHost): void {
  joinsAsWorker(host);
  host.setFile('/etc/kubernetes/manifests/etcd.yaml', 'kind: Pod\n', 0o600);
}

describe('kubeadm-join', () => {
  it('GIVEN a worker WHEN joined THEN a 0600 JoinConfiguration without controlPlane and kubeadm join --config', async () => {
    const host = new FakeHost();
    host.expect('kubeadm', joinArgs, { stdout: 'This node has joined the cluster:\n', effect: joinsAsWorker });
    const result = await runStep(kubeadmJoinStep, worker, { host });
    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes).toEqual([
      'write /var/lib/kubeha/kubeadm/join-config.yaml (0600)',
      'kubeadm join --config /var/lib/kubeha/kubeadm/join-config.yaml (worker)',
    ]);
    const [write] = host.writes;
    expect(write?.mode).toBe(0o600);
    expect(write?.content).toContain('kind: "JoinConfiguration"');
    expect(write?.content).toContain(`token: "${fixtureToken}"`);
    expect(write?.content).not.toContain('controlPlane:');
    expect(JSON.stringify(result)).not.toContain(fixtureToken);
  });

  it('GIVEN a control plane WHEN joined THEN the config carries controlPlane with the certificate key', async () => {
    const host = new FakeHost();
    host.expect('kubeadm', joinArgs, { effect: joinsAsControlPlane });
    const result = await runStep(kubeadmJoinStep, controlPlane, { host });
    expect(result.outcome).toBe('succeeded');
    expect(host.file('/var/lib/kubeha/kubeadm/join-config.yaml')).toContain(
      `certificateKey: "${fixtureCertificateKey}"`,
    );
    expect(host.file('/var/lib/kubeha/kubeadm/join-config.yaml')).toContain('advertiseAddress: "192.168.1.11"');
  });

  it('GIVEN a node that already joined WHEN run again THEN nothing runs and changed is false', async () => {
    for (const [params, joined] of [
      [worker, joinsAsWorker],
      [controlPlane, joinsAsControlPlane],
    ] as const) {
      const host = new FakeHost();
      joined(host);
      const result = await runStep(kubeadmJoinStep, params, { host });
      expect(result).toMatchObject({ outcome: 'succeeded', changed: false });
      expect(host.commandLines()).toEqual([]);
    }
  });

  it('GIVEN a worker whose earlier join stopped half-way WHEN joined THEN kubeadm reset -f first', async () => {
    const host = new FakeHost({ files: { '/etc/kubernetes/bootstrap-kubelet.conf': 'x' } });
    host.expect('kubeadm', ['reset', '-f'], { effect: (h) => h.deleteFile('/etc/kubernetes/bootstrap-kubelet.conf') });
    host.expect('kubeadm', joinArgs, { effect: joinsAsWorker });
    const result = await runStep(kubeadmJoinStep, worker, { host });
    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('succeeded');
  });

  it('GIVEN a control plane whose earlier join stopped half-way WHEN joined THEN it refuses and names the cleanup', async () => {
    const host = new FakeHost({ files: { '/var/lib/etcd/member/snap/db': 'x' } });
    const result = await runStep(kubeadmJoinStep, controlPlane, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(/run kubeadm-reset here and remove-etcd-member/);
    expect(host.commandLines()).toEqual([]);
  });

  it('GIVEN a worker asked to join as a control plane WHEN run THEN it refuses', async () => {
    const host = new FakeHost();
    joinsAsWorker(host);
    const result = await runStep(kubeadmJoinStep, controlPlane, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(/it joined as a worker or its control-plane join stopped half-way/);
  });

  it('GIVEN a control plane without a certificate key WHEN parsed THEN the field is named', async () => {
    const result = await runStep(kubeadmJoinStep, { ...controlPlane, certificateKey: '' }, { host: new FakeHost() });
    expect(result.error?.code).toBe('KUBEHA_PARAMS_INVALID');
    expect(result.error?.message).toContain('kubeadm-join.certificateKey: required for a control plane');
  });
});
