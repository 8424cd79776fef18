import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throw-away self-signed ECDSA CA made by openssl, as PEM (for step tests that read ca.crt). */
export function makeTestCaPem(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeha-test-ca-'));
  try {
    const key = join(dir, 'ca.key');
    const crt = join(dir, 'ca.crt');
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    execFileSync('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-subj',
      '/CN=kubernetes',
      '-days',
      '1',
      '-out',
      crt,
    ]);
    return readFileSync(crt, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
