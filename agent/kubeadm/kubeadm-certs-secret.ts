import { createDecipheriv } from 'node:crypto';

const nonceBytes = 12;
const tagBytes = 16;

/**
 * Whether a value of the kubeadm-certs Secret (base64, as the API returns it) was encrypted with this certificate key.
 * kubeadm seals each certificate with AES-256-GCM as nonce(12) || ciphertext || tag(16) (cryptoutil.EncryptBytes).
 */
export function kubeadmCertDecryptsWith(valueBase64: string, certificateKeyHex: string): boolean {
  const sealed = Buffer.from(valueBase64, 'base64');
  if (sealed.length <= nonceBytes + tagBytes) return false;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      Buffer.from(certificateKeyHex, 'hex'),
      sealed.subarray(0, nonceBytes),
    );
    decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes));
    decipher.update(sealed.subarray(nonceBytes, sealed.length - tagBytes));
    decipher.final();
    return true;
  } catch {
    return false;
  }
}
