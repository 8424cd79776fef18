import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateEcdsaKeyPair, x509 } from '../../common/x509.ts';
import { CertificateAuthority } from './certificate-authority.ts';

describe('the coordinator CA', () => {
  it('is ECDSA P-256, and its hash equals the one openssl computes from the SPKI', async () => {
    const material = await CertificateAuthority.create();
    const ca = await CertificateAuthority.load(material);
    const cert = new X509Certificate(material.certificatePem);
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');

    const dir = mkdtempSync(join(tmpdir(), 'kubeha-ca-'));
    try {
      writeFileSync(join(dir, 'ca.crt'), material.certificatePem);
      const pub = execFileSync('openssl', ['x509', '-pubkey', '-noout', '-in', join(dir, 'ca.crt')]);
      const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
      const digest = execFileSync('openssl', ['dgst', '-sha256', '-hex'], { input: der })
        .toString()
        .trim()
        .split(' ')
        .pop();
      expect(ca.hash).toBe(`sha256:${digest}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('issues a server certificate with the SANs and an agent certificate whose subject is ours, not the CSR’s', async () => {
    const ca = await CertificateAuthority.load(await CertificateAuthority.create());
    const caCert = new X509Certificate(ca.certificatePem);
    const server = await ca.issueServerCertificate(['coordinator.example.com', '10.1.2.3']);
    const serverCert = new X509Certificate(server.certificatePem);
    expect(serverCert.verify(caCert.publicKey)).toBe(true);
    expect(serverCert.subjectAltName).toContain('DNS:coordinator.example.com');
    expect(serverCert.subjectAltName).toContain('IP Address:10.1.2.3');

    const keys = await generateEcdsaKeyPair();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=i-want-to-be-admin',
      keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const issued = await ca.signAgentCsr(csr.toString('pem'), 'agent-1234');
    const agentCert = new X509Certificate(issued.certificatePem);
    expect(agentCert.subject).toContain('CN=agent-1234');
    expect(agentCert.subject).not.toContain('admin');
    expect(agentCert.verify(caCert.publicKey)).toBe(true);
    expect(agentCert.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
  });

  it('refuses a CSR that is not PEM PKCS#10', async () => {
    const ca = await CertificateAuthority.load(await CertificateAuthority.create());
    await expect(ca.signAgentCsr('not a csr', 'agent-1')).rejects.toThrow(/not a PEM PKCS#10/);
  });

  it.each([
    ['RSA 1024', ['-newkey', 'rsa:1024'], /RSA of 1024 bits: at least 2048/],
    ['ECDSA P-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], /ECDSA on secp384r1: P-256 only/],
    ['Ed25519', ['-newkey', 'ed25519'], /ed25519 keys are not accepted/],
    ['RSA 2048', ['-newkey', 'rsa:2048'], undefined],
    ['ECDSA P-256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], undefined],
  ])(
    'GIVEN a CSR with an %s key THEN it is signed only when the key is P-256 or RSA >= 2048',
    async (_l, args, refused) => {
      const ca = await CertificateAuthority.load(await CertificateAuthority.create());
      const dir = mkdtempSync(join(tmpdir(), 'kubeha-csr-'));
      try {
        const csr = execFileSync(
          'openssl',
          ['req', '-new', ...args, '-nodes', '-keyout', join(dir, 'k.pem'), '-subj', '/CN=weak'],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
        );
        const signing = ca.signAgentCsr(csr, 'agent-1');
        if (refused)
          await expect(signing).rejects.toMatchObject({
            code: 'KUBEHA_CSR_INVALID',
            message: expect.stringMatching(refused),
          });
        else await expect(signing).resolves.toMatchObject({ serialNumber: expect.any(String) });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
