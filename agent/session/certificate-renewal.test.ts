import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CertificateAuthority } from '../../coordinator/pki/certificate-authority.ts';
import { newAgentKeyRequest } from '../enrollment/agent-key-request.ts';
import { finishInterruptedSwitch, renewalDue } from './certificate-renewal.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function credentialDir() {
  const dir = mkdtempSync(join(tmpdir(), 'kubeha-renewal-'));
  dirs.push(dir);
  return { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'agent.crt'), keyFile: join(dir, 'agent.key') };
}

/** A credential directory holding `contents`: the live key and certificate and any `.next` ones of a switch. */
function credentialDirWith(contents: { key: string; cert: string; nextKey?: string; nextCert?: string }) {
  const files = credentialDir();
  writeFileSync(files.keyFile, contents.key);
  writeFileSync(files.certFile, contents.cert);
  if (contents.nextKey !== undefined) writeFileSync(`${files.keyFile}.next`, contents.nextKey);
  if (contents.nextCert !== undefined) writeFileSync(`${files.certFile}.next`, contents.nextCert);
  return files;
}

describe('renewalDue', () => {
  it('GIVEN a certificate of 3 days (issued a minute back) THEN it is due only once less than a third is left', async () => {
    const ca = await CertificateAuthority.load(await CertificateAuthority.create());
    const { csrPem } = await newAgentKeyRequest('x');
    const issued = await ca.signAgentCsr(csrPem, 'agent-00000000-0000-0000-0000-000000000000', 3);
    const notAfter = issued.notAfter.getTime();
    const hour = 3_600_000;
    expect(renewalDue(issued.certificatePem, Date.now())).toBe(false);
    expect(renewalDue(issued.certificatePem, notAfter - 25 * hour)).toBe(false);
    expect(renewalDue(issued.certificatePem, notAfter - 23 * hour)).toBe(true);
    expect(renewalDue(issued.certificatePem, notAfter + hour)).toBe(true);
  });
});

describe('finishInterruptedSwitch', () => {
  it('GIVEN no .next files THEN nothing changes', () => {
    const files = credentialDirWith({ key: 'old key', cert: 'old cert' });
    expect(finishInterruptedSwitch(files)).toBe('none');
    expect(readFileSync(files.keyFile, 'utf8')).toBe('old key');
  });

  it('GIVEN both .next files (the crash came before the move) THEN both move into place', () => {
    const files = credentialDirWith({ key: 'old key', cert: 'old cert', nextKey: 'new key', nextCert: 'new cert' });
    expect(finishInterruptedSwitch(files)).toBe('completed');
    expect(readFileSync(files.keyFile, 'utf8')).toBe('new key');
    expect(readFileSync(files.certFile, 'utf8')).toBe('new cert');
    expect(existsSync(`${files.certFile}.next`)).toBe(false);
  });

  it('GIVEN the key already moved and the certificate not THEN the certificate follows it', () => {
    const files = credentialDirWith({ key: 'new key', cert: 'old cert', nextCert: 'new cert' });
    expect(finishInterruptedSwitch(files)).toBe('completed');
    expect(readFileSync(files.certFile, 'utf8')).toBe('new cert');
  });

  it('GIVEN only a new key (the certificate never arrived) THEN it is dropped and the old pair stays', () => {
    const files = credentialDirWith({ key: 'old key', cert: 'old cert', nextKey: 'new key' });
    expect(finishInterruptedSwitch(files)).toBe('discarded');
    expect(readFileSync(files.keyFile, 'utf8')).toBe('old key');
    expect(existsSync(`${files.keyFile}.next`)).toBe(false);
  });
});
