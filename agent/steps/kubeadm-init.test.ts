import { describe, expect, it } from 'vitest';
import { caCertHash } from '../../common/ca-hash.ts';
import { makeTestPki } from '../../test/support/test-pki.ts';
import { FakeHost } from '../host/fake-host.ts';
import {
  fixtureCaHash,
  fixtureCertificateKey,
  fixtureToken,
  kubeadmInitOutput,
} from '../kubeadm/kubeadm-init-output.fixture.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { kubeadmInitStep } from './kubeadm-init.ts';

const { caPem } = await makeTestPki();
const hash = caCertHash(caPem);
const initArgs = ['init', '--config', '/var/lib/kubeha/kubeadm/init-config.yaml', '--upload-certs'];

const params = {
  kubernetesVersion: '1.31.4',
  controlPlaneEndpoint: '10.152.0.6:16443',
  advertiseAddress: '192.168.1.10',
  nodeName: 'k8s-master1',
  podSubnet: '10.244.0.0/16',
  serviceSubnet: '',
  bootstrapToken: fixtureToken,
  certificateKey: fixtureCertificateKey,
  tokenTtlSeconds: 0,
};

function initialises(host: FakeHost): void {
  host.setFile('/etc/kubernetes/pki/ca.crt', caPem);
  host.setFile('/etc/kubernetes/admin.conf', 'apiVersion: v1\n', 0o600);
  host.setFile('/etc/kubernetes/manifests/kube-apiserver.yaml', 'kind: Pod\n', 0o600);
}

async function run(host: FakeHost, raw: unknown = params) {
  const lines: string[] = [];
  const result = await runStep(kubeadmInitStep, raw, { host, onLog: (_s, text) => lines.push(text) });
  return { result, lines };
}

describe('kubeadm-init', () => {
  it('GIVEN a prepared node WHEN run THEN it writes the config 0600, runs kubeadm init and outputs the CA hash and the admin kubeconfig', async () => {
    const host = new FakeHost();
    host.expect('kubeadm', initArgs, {
      stdout: kubeadmInitOutput.replaceAll(fixtureCaHash, hash),
      effect: initialises,
    });
    const { result, lines } = await run(host);
    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('succeeded');
    expect(result.changed).toBe(true);
    expect(result.outputs).toEqual({ caCertHash: hash, caCertPem: caPem, kubeconfig: 'apiVersion: v1\n' });
    expect(host.commandLines()).toEqual([`kubeadm ${initArgs.join(' ')}`]);
    const [write] = host.writes;
    expect(write?.path).toBe('/var/lib/kubeha/kubeadm/init-config.yaml');
    expect(write?.mode).toBe(0o600);
    expect(write?.content).toContain('kubernetesVersion: "v1.31.4"');
    expect(write?.content).toContain('apiVersion: "kubeadm.k8s.io/v1beta4"');
    expect(write?.content).toContain('serviceSubnet: "10.96.0.0/12"');
    expect(write?.content).toContain('ttl: "24h0m0s"');
    expect(write?.content).toContain('cgroupDriver: "systemd"');
    const streamed = lines.join('\n');
    expect(streamed).toContain('Your Kubernetes control-plane has initialized successfully!');
    for (const secret of [fixtureToken, fixtureCertificateKey, hash.slice(7)]) expect(streamed).not.toContain(secret);
    expect(JSON.stringify(result)).not.toContain(fixtureToken);
  });

  it('GIVEN an initialised node WHEN run again THEN nothing runs, changed is false and the CA hash is still output', async () => {
    const host = new FakeHost();
    initialises(host);
    const { result } = await run(host);
    expect(result).toMatchObject({ outcome: 'succeeded', changed: false, outputs: { caCertHash: hash } });
    expect(host.commandLines()).toEqual([]);
    expect(host.writes).toEqual([]);
  });

  it('GIVEN what an interrupted init left behind WHEN run THEN kubeadm reset -f first, then init', async () => {
    const host = new FakeHost({ files: { '/etc/kubernetes/manifests/etcd.yaml': 'kind: Pod\n' } });
    host.expect('kubeadm', ['reset', '-f'], { effect: (h) => h.deleteFile('/etc/kubernetes/manifests/etcd.yaml') });
    host.expect('kubeadm', initArgs, { effect: initialises });
    const { result } = await run(host);
    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('succeeded');
    expect(result.changes[0]).toMatch(/^kubeadm reset -f \(an interrupted kubeadm init left .*etcd\.yaml\)$/);
  });

  it('GIVEN the empty /etc/kubernetes/pki that kubeadm reset leaves WHEN run THEN init runs without another reset', async () => {
    const host = new FakeHost();
    await host.mkdir('/etc/kubernetes/pki', 0o755);
    host.expect('kubeadm', initArgs, {
      stdout: kubeadmInitOutput.replaceAll(fixtureCaHash, hash),
      effect: initialises,
    });
    const { result } = await run(host);
    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('succeeded');
    expect(host.commandLines()).toEqual([`kubeadm ${initArgs.join(' ')}`]);
  });

  it('GIVEN kubeadm printed a CA hash that is not the hash of ca.crt WHEN run THEN the step fails', async () => {
    const host = new FakeHost();
    host.expect('kubeadm', initArgs, { stdout: kubeadmInitOutput, effect: initialises });
    const { result } = await run(host);
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(/does not match the hash of \/etc\/kubernetes\/pki\/ca\.crt/);
  });

  it('GIVEN join commands in a shape the parser does not know WHEN run THEN init still succeeds, with a log line', async () => {
    const host = new FakeHost();
    const odd = kubeadmInitOutput
      .replaceAll(fixtureCaHash, hash)
      .replace('--control-plane ', '--control-plane --new-flag ');
    host.expect('kubeadm', initArgs, { stdout: odd, effect: initialises });
    const { result, lines } = await run(host);
    expect(result).toMatchObject({ outcome: 'succeeded', outputs: { caCertHash: hash } });
    expect(lines.some((l) => l.startsWith('could not read the join commands kubeadm printed: '))).toBe(true);
    expect(lines.join('\n')).not.toContain(fixtureCertificateKey);
  });

  it('GIVEN kubeadm init fails WHEN run THEN the failure carries no secret', async () => {
    const host = new FakeHost();
    host.expect('kubeadm', initArgs, {
      exitCode: 1,
      stderr: `error execution phase upload-certs: key ${fixtureCertificateKey} rejected\n`,
    });
    const { result } = await run(host);
    expect(result.outcome).toBe('failed');
    expect(result.error?.stderrTail).toBe('error execution phase upload-certs: key <redacted> rejected');
    expect(JSON.stringify(result)).not.toContain(fixtureCertificateKey);
  });

  it('GIVEN a dry run WHEN run THEN it lists the changes and runs nothing', async () => {
    const host = new FakeHost();
    const result = await runStep(kubeadmInitStep, params, { host, dryRun: true });
    expect(result.changes).toEqual([
      'write /var/lib/kubeha/kubeadm/init-config.yaml (0600)',
      'kubeadm init --config /var/lib/kubeha/kubeadm/init-config.yaml --upload-certs',
    ]);
    expect(host.commandLines()).toEqual([]);
  });

  it('GIVEN invalid parameters WHEN parsed THEN each field is named and no secret is repeated', async () => {
    const host = new FakeHost();
    const { result } = await run(host, {
      ...params,
      bootstrapToken: 'ABCDEF.0123456789abcdef',
      advertiseAddress: '999.1.1.1',
      controlPlaneEndpoint: '10.152.0.6:16443; rm -rf /',
    });
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('KUBEHA_PARAMS_INVALID');
    expect(result.error?.message).toContain('kubeadm-init.bootstrapToken');
    expect(result.error?.message).toContain('kubeadm-init.controlPlaneEndpoint');
    expect(result.error?.message).not.toContain('0123456789abcdef');
    expect(host.commandLines()).toEqual([]);
  });
});
