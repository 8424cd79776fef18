import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealLikeKubeadm } from './kubeadm-certs-secret.fixture.ts';
import { kubeadmCertDecryptsWith } from './kubeadm-certs-secret.ts';

describe('kubeadmCertDecryptsWith', () => {
  const key = randomBytes(32).toString('hex');
  const value = sealLikeKubeadm('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', key);

  it('GIVEN a value sealed with the key WHEN checked THEN true', () => {
    expect(kubeadmCertDecryptsWith(value, key)).toBe(true);
  });

  it('GIVEN another key, a truncated value or garbage WHEN checked THEN false', () => {
    expect(kubeadmCertDecryptsWith(value, randomBytes(32).toString('hex'))).toBe(false);
    expect(kubeadmCertDecryptsWith(value.slice(0, 20), key)).toBe(false);
    expect(kubeadmCertDecryptsWith('not base64 at all', key)).toBe(false);
  });
});
