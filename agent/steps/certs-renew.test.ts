import { beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { CertificateAuthority } from '../../coordinator/pki/certificate-authority.ts';
import { FakeHost } from '../host/fake-host.ts';
import { readyzCurlArgs } from '../kubeadm/apiserver-readyz.fixture.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { createCertsRenewStep, parkedManifestsDir, staticPods } from './certs-renew.ts';

const step = createCertsRenewStep({ pollMs: 1, now: () => Date.now() });
/** Renew what expires within 30 days. */
const params = {
  renewIfExpiresBefore: new Date(Date.now() + 30 * 86_400_000).toISOString(),
  apiserverAddress: '10.0.0.11',
  restartTimeoutSeconds: 10,
};
const pkiFiles = [
  'apiserver',
  'apiserver-kubelet-client',
  'front-proxy-client',
  'apiserver-etcd-client',
  'etcd/server',
];
const etcdId = 'abcdef0123456789';

let soon: string;
let renewed: string;
let caPem: string;

beforeAll(async () => {
  const material = await CertificateAuthority.create('kubernetes', 3650);
  const ca = await CertificateAuthority.load(material);
  caPem = material.certificatePem;
  soon = (await ca.issueServerCertificate(['kubernetes', '10.0.0.11'], 10)).certificatePem;
  renewed = (await ca.issueServerCertificate(['kubernetes', '10.0.0.11'], 365)).certificatePem;
});

function adminConf(pem: string): string {
  return toYaml({
    users: [{ name: 'kubernetes-admin', user: { 'client-certificate-data': Buffer.from(pem).toString('base64') } }],
  });
}

/**
 * A control plane as the kubelet runs it: a static pod runs while its manifest is in the manifests directory, and a
 * started apiserver serves the apiserver.crt it found when it started.
 */
function controlPlane(certificatePem: string, options: { kubeletStopsPods?: boolean } = {}) {
  const host = new FakeHost({ files: { '/etc/kubernetes/pki/ca.crt': caPem } });
  const writeCertificates = (pem: string) => {
    for (const name of pkiFiles) host.setFile(`/etc/kubernetes/pki/${name}.crt`, pem);
    host.setFile('/etc/kubernetes/admin.conf', adminConf(pem), 0o600);
  };
  writeCertificates(certificatePem);
  for (const pod of staticPods) host.setFile(`/etc/kubernetes/manifests/${pod}.yaml`, `kind: Pod # ${pod}\n`);
  const state = { served: certificatePem, apiserverRuns: true, stopsSeen: 0 };
  const runs = (pod: string) =>
    host.file(`/etc/kubernetes/manifests/${pod}.yaml`) !== undefined || options.kubeletStopsPods === false;
  const observe = () => {
    // The kubelet (re)starts the apiserver when its manifest is back, with the certificate on disk then.
    const now = runs('kube-apiserver');
    if (now && !state.apiserverRuns) state.served = host.file('/etc/kubernetes/pki/apiserver.crt')!;
    if (!now) state.stopsSeen++;
    state.apiserverRuns = now;
  };
  for (const pod of staticPods) {
    host.stub('crictl', ['ps', '--state', 'Running', '--label', `io.kubernetes.container.name=${pod}`, '-q'], {
      stdout: () => {
        observe();
        return runs(pod) ? (pod === 'etcd' ? `${etcdId}\n` : 'fedcba9876543210\n') : '';
      },
    });
  }
  host.stub('openssl', ['s_client', '-connect', '10.0.0.11:6443'], {
    stdout: () => {
      observe();
      return state.apiserverRuns ? `CONNECTED(00000003)\n---\n${state.served}\n---\n` : '';
    },
    exitCode: () => (state.apiserverRuns ? 0 : 1),
  });
  host.stub('curl', readyzCurlArgs('https://10.0.0.11:6443/readyz'), {
    stdout: () => (state.apiserverRuns ? 'ok\n200' : ''),
    exitCode: () => (state.apiserverRuns ? 0 : 7),
  });
  host.stub(
    'crictl',
    [
      'exec',
      '--sync',
      etcdId,
      'etcdctl',
      '--endpoints',
      'https://127.0.0.1:2379',
      '--cacert',
      '/etc/kubernetes/pki/etcd/ca.crt',
      '--cert',
      '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
      '--key',
      '/etc/kubernetes/pki/etcd/healthcheck-client.key',
      'endpoint',
      'health',
      '-w',
      'json',
    ],
    { stdout: '[{"endpoint":"https://127.0.0.1:2379","health":true,"took":"1ms"}]' },
  );
  return { host, state, writeCertificates };
}

describe('certs-renew', () => {
  it('GIVEN certificates expiring in 10 days WHEN run THEN kubeadm renews them, the static pods restart through their manifests, the apiserver serves the new certificate; a second run changes nothing', async () => {
    const { host, state, writeCertificates } = controlPlane(soon);
    host.expect('kubeadm', ['certs', 'renew', 'all'], { effect: () => writeCertificates(renewed) });
    const lines: string[] = [];

    const result = await runStep(step, params, { host, onLog: (_s, text) => lines.push(text) });

    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes).toHaveLength(2);
    expect(result.changes[0]).toMatch(
      /^kubeadm certs renew all \(6 of 6 certificates expire before \d{4}-\d\d-\d\dT[\d:.]+Z, the first apiserver on /,
    );
    expect(result.changes[1]).toMatch(
      /^restart the static pods \(etcd, kube-apiserver, kube-controller-manager, kube-scheduler\)/,
    );
    expect(state.stopsSeen).toBeGreaterThan(0);
    expect(state.served).toBe(renewed);
    for (const pod of staticPods) expect(host.file(`/etc/kubernetes/manifests/${pod}.yaml`)).toBeDefined();
    expect(await host.listDir(parkedManifestsDir)).toEqual([]);
    expect(result.outputs['kubeconfig']).toBe(adminConf(renewed));
    const renewIndex = host.commandLines().indexOf('kubeadm certs renew all');
    const firstStopCheck = host.commandLines().findIndex((l, i) => i > renewIndex && l.startsWith('crictl ps'));
    expect(firstStopCheck).toBeGreaterThan(renewIndex);

    lines.length = 0;
    const again = await runStep(step, params, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
    expect(host.commandLines().filter((l) => l === 'kubeadm certs renew all')).toHaveLength(1);
  });

  it('GIVEN certificates valid for a year WHEN run THEN nothing is renewed or restarted, and the log says why', async () => {
    const { host, state } = controlPlane(renewed);
    const lines: string[] = [];

    const result = await runStep(step, params, { host, onLog: (_s, text) => lines.push(text) });

    expect(result).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
    expect(host.commandLines()).not.toContain('kubeadm certs renew all');
    expect(state.stopsSeen).toBe(0);
    expect(lines.join('\n')).toMatch(
      /not renewed: every certificate kubeadm renews is valid beyond \d{4}-\d\d-\d\dT[\d:.]+Z \(the first, \w[\w/-]*, until \d{4}-\d\d-\d\d\)/,
    );
  });

  it('GIVEN renewed certificates that the running apiserver does not serve yet WHEN run THEN only the restart is done', async () => {
    const { host, state, writeCertificates } = controlPlane(soon);
    writeCertificates(renewed);

    const result = await runStep(step, params, { host });

    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes).toHaveLength(1);
    expect(result.changes[0]).toMatch(
      /^restart the static pods .* \(it serves a certificate expiring \d{4}-\d\d-\d\d, apiserver\.crt expires/,
    );
    expect(host.commandLines()).not.toContain('kubeadm certs renew all');
    expect(state.served).toBe(renewed);
  });

  it('GIVEN a restart interrupted with two manifests parked WHEN run THEN it is finished and every manifest is back', async () => {
    const { host, state } = controlPlane(renewed);
    for (const pod of ['etcd', 'kube-apiserver']) {
      host.setFile(`${parkedManifestsDir}/${pod}.yaml`, host.file(`/etc/kubernetes/manifests/${pod}.yaml`)!);
      host.deleteFile(`/etc/kubernetes/manifests/${pod}.yaml`);
    }

    const result = await runStep(step, params, { host });

    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes[0]).toMatch(/^finish an interrupted restart: restart the static pods/);
    for (const pod of staticPods) expect(host.file(`/etc/kubernetes/manifests/${pod}.yaml`)).toBeDefined();
    expect(state.apiserverRuns).toBe(true);
  });

  it('GIVEN a kubelet that does not stop the pods WHEN run THEN the manifests go back and the failure names the pods still running', async () => {
    const { host, writeCertificates } = controlPlane(soon, { kubeletStopsPods: false });
    host.expect('kubeadm', ['certs', 'renew', 'all'], { effect: () => writeCertificates(renewed) });
    const slow = createCertsRenewStep({
      pollMs: 1,
      now: (() => {
        let t = Date.now();
        return () => (t += 1_000);
      })(),
    });

    const result = await runStep(slow, params, { host });

    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(
      /the kubelet stopping the static pods: not done after 10 s: etcd still runs; kube-apiserver still runs; kube-controller-manager still runs; kube-scheduler still runs/,
    );
    for (const pod of staticPods) expect(host.file(`/etc/kubernetes/manifests/${pod}.yaml`)).toBeDefined();
  });

  it('GIVEN kubeadm fails WHEN run THEN the failure carries its command line, exit code and stderr, and no pod is touched', async () => {
    const { host, state } = controlPlane(soon);
    host.expect('kubeadm', ['certs', 'renew', 'all'], {
      exitCode: 1,
      stderr: 'error: open /etc/kubernetes/pki/ca.key: no such file',
    });

    const result = await runStep(step, params, { host });

    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toContain(
      'kubeadm certs renew all exited with 1: error: open /etc/kubernetes/pki/ca.key',
    );
    expect(state.stopsSeen).toBe(0);
  });

  it('GIVEN bad parameters WHEN run THEN they are refused naming the field', async () => {
    const result = await runStep(
      step,
      { renewIfExpiresBefore: 'tomorrow', apiserverAddress: 'cp1' },
      { host: new FakeHost() },
    );
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(/certs-renew.*renewIfExpiresBefore/);
    expect(result.error?.message).toMatch(/apiserverAddress/);
  });
});
