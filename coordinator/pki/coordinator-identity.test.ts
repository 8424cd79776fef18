import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { certificateNeedsRenewal, ensureCoordinatorIdentity } from './coordinator-identity.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const dayMs = 24 * 3600_000;

describe("the gateway's certificate", () => {
  it('GIVEN a start when the certificate has less than a third of its life left THEN it is re-issued; before that, kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeha-identity-'));
    dirs.push(dir);
    const first = await ensureCoordinatorIdentity(dir, ['localhost']);
    const notAfter = Date.parse(new X509Certificate(first.serverCertificatePem).validTo);
    expect(certificateNeedsRenewal(first.serverCertificatePem)).toBe(false);

    const soon = await ensureCoordinatorIdentity(dir, ['localhost'], notAfter - 400 * dayMs);
    expect(soon.serverCertificatePem).toBe(first.serverCertificatePem);

    const late = await ensureCoordinatorIdentity(dir, ['localhost'], notAfter - 200 * dayMs);
    expect(late.serverCertificatePem).not.toBe(first.serverCertificatePem);
    expect(new X509Certificate(late.serverCertificatePem).serialNumber).not.toBe(
      new X509Certificate(first.serverCertificatePem).serialNumber,
    );
    expect(late.ca.certificatePem).toBe(first.ca.certificatePem);
  });
});
