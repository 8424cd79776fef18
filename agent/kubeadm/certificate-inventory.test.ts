import { beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { CertificateAuthority } from '../../coordinator/pki/certificate-authority.ts';
import { capturedLogger } from '../../test/support/captured-logs.ts';
import { FakeHost } from '../host/fake-host.ts';
import { CertificateInventoryReader } from './certificate-inventory.ts';

interface Pki {
  caPem: string;
  serverPem: string;
  serverKeyPem: string;
  etcdCaPem: string;
}

let pki: Pki;

beforeAll(async () => {
  const caMaterial = await CertificateAuthority.create('kubernetes', 3650);
  const ca = await CertificateAuthority.load(caMaterial);
  const server = await ca.issueServerCertificate(['kubernetes', '10.0.0.10', 'cp1'], 365);
  const etcdCa = await CertificateAuthority.create('etcd-ca', 3650);
  pki = {
    caPem: caMaterial.certificatePem,
    serverPem: server.certificatePem,
    serverKeyPem: server.privateKeyPem,
    etcdCaPem: etcdCa.certificatePem,
  };
});

function kubeconfig(user: string, certificatePem: string, keyPem: string): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    users: [
      {
        name: user,
        user: {
          'client-certificate-data': Buffer.from(certificatePem).toString('base64'),
          'client-key-data': Buffer.from(keyPem).toString('base64'),
        },
      },
    ],
  });
}

describe('CertificateInventoryReader', () => {
  it('lists the PKI files, the kubeconfigs’ embedded client certificates and the kubelet’s, with their fields', async () => {
    const host = new FakeHost({
      files: {
        '/etc/kubernetes/pki/ca.crt': pki.caPem,
        '/etc/kubernetes/pki/ca.key': pki.serverKeyPem,
        '/etc/kubernetes/pki/apiserver.crt': pki.serverPem,
        '/etc/kubernetes/pki/sa.pub': 'not a certificate',
        '/etc/kubernetes/pki/etcd/ca.crt': pki.etcdCaPem,
        '/etc/kubernetes/admin.conf': kubeconfig('kubernetes-admin', pki.serverPem, pki.serverKeyPem),
        // The kubelet's kubeconfig names the rotating file instead of embedding a certificate.
        '/etc/kubernetes/kubelet.conf': toYaml({
          users: [
            { name: 'default-auth', user: { 'client-certificate': '/var/lib/kubelet/pki/kubelet-client-current.pem' } },
          ],
        }),
        '/var/lib/kubelet/pki/kubelet-client-current.pem': `${pki.serverPem}${pki.serverKeyPem}`,
      },
    });
    const { logger } = capturedLogger('inventory');
    const inventory = await new CertificateInventoryReader(host, logger).read(1_700_000_000_000);

    expect(inventory.gatheredAtMs).toBe(1_700_000_000_000);
    expect(inventory.certificates.map((c) => [c.name, c.file, c.kubeconfigUser])).toEqual([
      ['apiserver', '/etc/kubernetes/pki/apiserver.crt', ''],
      ['ca', '/etc/kubernetes/pki/ca.crt', ''],
      ['etcd/ca', '/etc/kubernetes/pki/etcd/ca.crt', ''],
      ['admin.conf', '/etc/kubernetes/admin.conf', 'kubernetes-admin'],
      ['kubelet-client-current', '/var/lib/kubelet/pki/kubelet-client-current.pem', ''],
    ]);
    const [apiserver, ca, etcdCa] = inventory.certificates;
    expect(ca).toMatchObject({ subject: 'CN=kubernetes', issuer: 'CN=kubernetes', isCa: true, sans: [] });
    expect(etcdCa).toMatchObject({ subject: 'CN=etcd-ca', isCa: true });
    expect(apiserver).toMatchObject({
      subject: 'CN=kubeha-coordinator',
      issuer: 'CN=kubernetes',
      isCa: false,
      sans: ['DNS:kubernetes', 'IP Address:10.0.0.10', 'DNS:cp1'],
    });
    const days = (apiserver!.notAfterMs - apiserver!.notBeforeMs) / 86_400_000;
    expect(Math.round(days)).toBe(365);
    expect(ca!.notAfterMs - Date.now()).toBeGreaterThan(3649 * 86_400_000);
  });

  it('never carries a private key: the key files and the key beside the kubelet certificate are not in the report', async () => {
    const host = new FakeHost({
      files: {
        '/etc/kubernetes/pki/apiserver.crt': pki.serverPem,
        '/etc/kubernetes/pki/apiserver.key': pki.serverKeyPem,
        '/var/lib/kubelet/pki/kubelet-client-current.pem': `${pki.serverKeyPem}${pki.serverPem}`,
      },
    });
    const inventory = await new CertificateInventoryReader(host, capturedLogger('inventory').logger).read(1);
    expect(inventory.certificates).toHaveLength(2);
    const keyBody = pki.serverKeyPem.split('\n')[1]!;
    expect(JSON.stringify(inventory)).not.toContain(keyBody);
    expect(JSON.stringify(inventory)).not.toContain('PRIVATE KEY');
  });

  it('finds nothing on a machine without kubeadm’s files, and only the kubelet’s on a worker', async () => {
    const empty = await new CertificateInventoryReader(new FakeHost(), capturedLogger('inventory').logger).read(1);
    expect(empty.certificates).toEqual([]);
    const worker = new FakeHost({
      files: {
        '/etc/kubernetes/pki/ca.crt': pki.caPem,
        '/var/lib/kubelet/pki/kubelet.crt': pki.serverPem,
      },
    });
    const inventory = await new CertificateInventoryReader(worker, capturedLogger('inventory').logger).read(1);
    expect(inventory.certificates.map((c) => c.name)).toEqual(['ca', 'kubelet-serving']);
  });

  it('skips a damaged certificate with a warning naming the file and lists the others', async () => {
    const host = new FakeHost({
      files: {
        '/etc/kubernetes/pki/broken.crt': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
        '/etc/kubernetes/pki/ca.crt': pki.caPem,
      },
    });
    const { logger, lines } = capturedLogger('inventory');
    const inventory = await new CertificateInventoryReader(host, logger).read(1);
    expect(inventory.certificates.map((c) => c.name)).toEqual(['ca']);
    expect(lines.some((l) => l.includes('/etc/kubernetes/pki/broken.crt') && l.includes('cannot parse'))).toBe(true);
  });
});
