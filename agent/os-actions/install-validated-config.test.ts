import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { ensureValidatedConfig } from './install-validated-config.ts';

const path = '/etc/haproxy/haproxy.cfg';
const validator = async (candidate: string) => ({ command: 'haproxy', args: ['-c', '-f', candidate] });

describe('ensureValidatedConfig', () => {
  it('GIVEN new bytes the validator accepts THEN the candidate is checked, installed, reloaded, and removed', async () => {
    const host = new FakeHost({ files: { [path]: 'old\n' } });
    host.expect('haproxy', ['-c', '-f', `${path}.kubeha-new`]);
    let reloads = 0;
    const changes = await ensureValidatedConfig(
      host,
      { path, content: 'new\n', mode: 0o644, description: 'write haproxy.cfg', afterWrite: async () => void reloads++ },
      validator,
    );
    expect(changes.map((c) => c.description)).toEqual(['write haproxy.cfg']);
    for (const c of changes) await c.apply();
    expect(host.file(path)).toBe('new\n');
    expect(host.file(`${path}.kubeha.bak`)).toBe('old\n');
    expect(await host.exists(`${path}.kubeha-new`)).toBe(false);
    expect(reloads).toBe(1);
    host.assertNoPendingExpectations();
  });

  it('GIVEN the validator refuses THEN the old file stays, nothing reloads, and the secret is scrubbed', async () => {
    const host = new FakeHost({ files: { [path]: 'old\n' } });
    host.expect('haproxy', ['-c', '-f', `${path}.kubeha-new`], { exitCode: 1, stderr: 'bad line: pass s3cret\n' });
    let reloads = 0;
    const changes = await ensureValidatedConfig(
      host,
      { path, content: 'new\n', mode: 0o644, secret: 's3cret', afterWrite: async () => void reloads++ },
      validator,
    );
    const error = await changes[0]!.apply().catch((e: unknown) => e as Error);
    expect((error as Error).message).toContain(`haproxy refused the generated ${path} (exit 1)`);
    expect((error as Error).message).toContain('pass <redacted>');
    expect((error as Error).message).not.toContain('s3cret');
    expect(host.file(path)).toBe('old\n');
    expect(await host.exists(`${path}.kubeha-new`)).toBe(false);
    expect(reloads).toBe(0);
  });
});
