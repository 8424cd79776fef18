import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { readCaCertHash } from './read-ca-cert-hash.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubeha-ca-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[], input?: Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A self-signed CA like kubeadm's, made by openssl; returns its PEM and openssl's own discovery hash. */
function makeCa(name: string, keyArgs: string[]): { pem: string; opensslHash: string } {
  const key = join(dir, `${name}.key`);
  const crt = join(dir, `${name}.crt`);
  openssl([...keyArgs, '-out', key]);
  openssl(['req', '-x509', '-new', '-key', key, '-subj', '/CN=kubernetes', '-days', '1', '-out', crt]);
  const pubkey = openssl(['x509', '-in', crt, '-pubkey', '-noout']);
  const der = openssl(['pkey', '-pubin', '-outform', 'der'], pubkey);
  const digest = openssl(['dgst', '-sha256'], der).toString().trim();
  return { pem: readFileSync(crt, 'utf8'), opensslHash: `sha256:${digest.replace(/^.*= */, '')}` };
}

describe('readCaCertHash', () => {
  it.each([
    ['RSA 2048', 'rsa', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']],
    ['ECDSA P-256', 'ecdsa', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
  ])("GIVEN a %s CA at /etc/kubernetes/pki/ca.crt WHEN hashed THEN it equals openssl's", async (_label, name, args) => {
    const ca = makeCa(name, args);
    expect(ca.opensslHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const host = new FakeHost({ files: { '/etc/kubernetes/pki/ca.crt': ca.pem } });
    expect(await readCaCertHash(host)).toBe(ca.opensslHash);
  });

  it('GIVEN no CA certificate WHEN hashed THEN it says which file is missing', async () => {
    await expect(readCaCertHash(new FakeHost())).rejects.toThrow('/etc/kubernetes/pki/ca.crt does not exist');
  });
});
