import { createCipheriv, randomBytes } from 'node:crypto';

/** What kubeadm's cryptoutil.EncryptBytes produces, base64 as in the kubeadm-certs Secret's data. */
export function sealLikeKubeadm(plain: string, keyHex: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(keyHex, 'hex'), nonce);
  return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]).toString('base64');
}
