import { beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { CertificateAuthority } from '../../../coordinator/pki/certificate-authority.ts';
import { kubeconfigCertificate, renewableExpiries } from './certs-renew.ts';

let pem: string;
let notAfterMs: number;

beforeAll(async () => {
  const ca = await CertificateAuthority.load(await CertificateAuthority.create('kubernetes', 3650));
  pem = (await ca.issueServerCertificate(['kubernetes'], 100)).certificatePem;
  notAfterMs = Date.parse(new (await import('node:crypto')).X509Certificate(pem).validTo);
});

describe('renewableExpiries', () => {
  it('GIVEN a control plane’s files THEN it lists the expiry of what kubeadm renews, kubeconfigs by their embedded certificate, never a CA', () => {
    const files: Record<string, string> = {
      '/etc/kubernetes/pki/apiserver.crt': pem,
      '/etc/kubernetes/pki/etcd/peer.crt': pem,
      '/etc/kubernetes/pki/ca.crt': pem,
      '/etc/kubernetes/admin.conf': toYaml({
        users: [{ name: 'kubernetes-admin', user: { 'client-certificate-data': Buffer.from(pem).toString('base64') } }],
      }),
      // kubelet.conf names a file: not kubeadm's to renew, and not read.
      '/etc/kubernetes/kubelet.conf': toYaml({
        users: [{ name: 'default-auth', user: { 'client-certificate': '/x' } }],
      }),
    };

    expect(renewableExpiries((path) => files[path])).toEqual({
      apiserver: notAfterMs,
      'etcd/peer': notAfterMs,
      'admin.conf': notAfterMs,
    });
    expect(kubeconfigCertificate(files['/etc/kubernetes/kubelet.conf']!)).toBeUndefined();
  });
});
