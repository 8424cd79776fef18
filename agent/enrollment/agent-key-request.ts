import { generateEcdsaKeyPair, x509 } from '../../common/x509.ts';

/** A new ECDSA P-256 key and a CSR for it. The coordinator takes only the public key; the subject is a hint. */
export async function newAgentKeyRequest(commonName: string): Promise<{ privateKeyPem: string; csrPem: string }> {
  const keys = await generateEcdsaKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName}`,
    keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return { privateKeyPem: keys.privateKeyPem, csrPem: csr.toString('pem') };
}
