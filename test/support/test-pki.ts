import { CertificateAuthority } from '../../coordinator/pki/certificate-authority.ts';

export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * A throwaway cluster CA and one apiserver certificate carrying "kubernetes" and 127.0.0.1 (as kubeadm's does) and
 * the given SANs, made in-process by the coordinator's own CA code: the tests' one source of certificates.
 */
export async function makeTestPki(sans: string[] = []): Promise<TestPki> {
  const material = await CertificateAuthority.create('kubeha-test-cluster-ca', 2);
  const ca = await CertificateAuthority.load(material);
  const issued = await ca.issueServerCertificate(['kubernetes', '127.0.0.1', ...sans], 2);
  return { caPem: material.certificatePem, certPem: issued.certificatePem, keyPem: issued.privateKeyPem };
}
