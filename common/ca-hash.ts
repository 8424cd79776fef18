import { createHash, X509Certificate } from 'node:crypto';

const caHashPattern = /^sha256:[0-9a-f]{64}$/;

/** kubeadm's discovery hash: "sha256:" + hex SHA-256 of the certificate's DER SubjectPublicKeyInfo. */
export function caCertHash(certificatePem: string | Buffer): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

export function isCaCertHash(value: string): boolean {
  return caHashPattern.test(value.toLowerCase());
}
