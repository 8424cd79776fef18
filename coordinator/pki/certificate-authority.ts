import { createPublicKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { caCertHash } from '../../common/ca-hash.ts';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import {
  type CryptoKey,
  ecdsaP256,
  generateEcdsaKeyPair,
  importEcdsaPrivateKey,
  randomSerialNumber,
  x509,
} from '../../common/x509.ts';

const dayMs = 24 * 60 * 60 * 1000;

/** Why an agent's key is too weak to sign (undefined when it is ECDSA P-256 or RSA of 2048 bits or more). */
export function csrKeyProblem(spkiDer: Buffer): string | undefined {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  } catch {
    return 'not a public key node can read';
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    return details.namedCurve === 'prime256v1'
      ? undefined
      : `ECDSA on ${details.namedCurve ?? 'an unknown curve'}: P-256 only`;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    return bits >= 2048 ? undefined : `RSA of ${bits} bits: at least 2048`;
  }
  return `${key.asymmetricKeyType ?? 'unknown'} keys are not accepted: ECDSA P-256 or RSA of at least 2048 bits`;
}

export interface CaMaterial {
  certificatePem: string;
  privateKeyPem: string;
}

export interface IssuedCertificate {
  certificatePem: string;
  serialNumber: string;
  notAfter: Date;
}

/** The coordinator's own CA: signs the gateway's server certificate and every agent's client certificate. */
export class CertificateAuthority {
  readonly certificatePem: string;
  readonly hash: string;
  private readonly certificate: x509.X509Certificate;
  private readonly privateKey: CryptoKey;

  private constructor(certificatePem: string, privateKey: CryptoKey) {
    this.certificatePem = certificatePem;
    this.certificate = new x509.X509Certificate(certificatePem);
    this.privateKey = privateKey;
    this.hash = caCertHash(certificatePem);
  }

  static async create(commonName = 'kubeha-coordinator-ca', validityDays = 3650): Promise<CaMaterial> {
    const keys = await generateEcdsaKeyPair();
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerialNumber(),
      name: `CN=${commonName}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + validityDays * dayMs),
      signingAlgorithm: ecdsaP256,
      keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return { certificatePem: cert.toString('pem'), privateKeyPem: keys.privateKeyPem };
  }

  static async load(material: CaMaterial): Promise<CertificateAuthority> {
    return new CertificateAuthority(material.certificatePem, await importEcdsaPrivateKey(material.privateKeyPem));
  }

  /** A server certificate for the gateway; SANs are DNS names or IP addresses. */
  async issueServerCertificate(
    sans: string[],
    validityDays = 825,
  ): Promise<IssuedCertificate & { privateKeyPem: string }> {
    const keys = await generateEcdsaKeyPair();
    const names = sans.map((value) => (isIP(value) ? { type: 'ip' as const, value } : { type: 'dns' as const, value }));
    const issued = await this.sign({
      subject: 'CN=kubeha-coordinator',
      publicKey: keys.publicKey,
      validityDays,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
      ],
    });
    return { ...issued, privateKeyPem: keys.privateKeyPem };
  }

  /** Signs an agent's CSR. The subject is ours (CN = agent id); the CSR only contributes its public key. */
  async signAgentCsr(csrPem: string, agentId: string, validityDays = 365): Promise<IssuedCertificate> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (cause) {
      throw new KubehaError(ErrorCode.csrInvalid, 'the certificate signing request is not a PEM PKCS#10 request', {
        cause,
      });
    }
    if (!(await csr.verify())) {
      throw new KubehaError(ErrorCode.csrInvalid, 'the certificate signing request has an invalid signature');
    }
    const problem = csrKeyProblem(Buffer.from(csr.publicKey.rawData));
    if (problem) throw new KubehaError(ErrorCode.csrInvalid, `the certificate signing request's key: ${problem}`);
    const publicKey = await csr.publicKey.export(ecdsaP256, ['verify']).catch(() => csr.publicKey.export());
    return this.sign({
      subject: `CN=${agentId},O=kubeha-agents`,
      publicKey,
      validityDays,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ],
    });
  }

  private async sign(request: {
    subject: string;
    publicKey: CryptoKey;
    validityDays: number;
    extensions: x509.Extension[];
  }): Promise<IssuedCertificate> {
    const serialNumber = randomSerialNumber();
    const now = Date.now();
    const notAfter = new Date(now + request.validityDays * dayMs);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber,
      subject: request.subject,
      issuer: this.certificate.subject,
      notBefore: new Date(now - 60_000),
      notAfter,
      signingAlgorithm: ecdsaP256,
      publicKey: request.publicKey,
      signingKey: this.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        ...request.extensions,
        await x509.AuthorityKeyIdentifierExtension.create(this.certificate),
      ],
    });
    return { certificatePem: cert.toString('pem'), serialNumber, notAfter };
  }
}
