import { describe, expect, it } from 'vitest';
import { FakeHost } from './fake-host.ts';
import { CommandFailedError } from './host.ts';

describe('FakeHost', () => {
  it('answers expectations once and in order, then stubs, and throws on a failing exit like LocalHost', async () => {
    const host = new FakeHost()
      .stub('systemctl', ['is-active', 'x'], { stdout: 'inactive\n', exitCode: 3 })
      .expect('systemctl', ['is-active', 'x'], { stdout: 'active\n' });
    expect((await host.exec('systemctl', ['is-active', 'x'])).stdout).toBe('active\n');
    expect((await host.exec('systemctl', ['is-active', 'x'], { allowFailure: true })).exitCode).toBe(3);
    const error = await host.exec('systemctl', ['is-active', 'x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect((error as CommandFailedError).exitCode).toBe(3);
    host.assertNoPendingExpectations();
  });

  it('records only writes that change bytes or mode, keeps a .kubeha.bak, and lists directories', async () => {
    const host = new FakeHost({ files: { '/etc/a.conf': 'old' } });
    expect(await host.writeFileAtomic('/etc/a.conf', 'new', 0o644)).toEqual({ changed: true, modeChanged: false });
    expect(await host.writeFileAtomic('/etc/a.conf', 'new', 0o644)).toEqual({ changed: false, modeChanged: false });
    expect(await host.writeFileAtomic('/etc/a.conf', 'new', 0o600)).toEqual({ changed: false, modeChanged: true });
    expect(host.writes).toEqual([
      { path: '/etc/a.conf', content: 'new', mode: 0o644 },
      { path: '/etc/a.conf', content: 'new', mode: 0o600 },
    ]);
    expect(host.file('/etc/a.conf.kubeha.bak')).toBe('old');
    expect(await host.listDir('/etc')).toEqual(['a.conf', 'a.conf.kubeha.bak']);
    expect(await host.exists('/etc')).toBe(true);
    await host.remove('/etc');
    expect(await host.exists('/etc/a.conf')).toBe(false);
  });
});
