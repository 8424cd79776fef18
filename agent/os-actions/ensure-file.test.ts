import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { ensureFile, rootOwner } from './ensure-file.ts';

const path = '/var/lib/kubeha/kubeadm/init-config.yaml';

describe('ensureFile', () => {
  it('GIVEN no file THEN it plans one write that creates the directory and the file with its mode', async () => {
    const host = new FakeHost();
    const plan = await ensureFile(host, { path, content: 'a\n', mode: 0o600, directoryMode: 0o700 });
    expect(plan.contentDiffers).toBe(true);
    expect(plan.changes.map((c) => c.description)).toEqual([`write ${path}`]);
    expect(host.writes).toEqual([]);
    for (const c of plan.changes) await c.apply();
    expect(host.writes).toEqual([{ path, content: 'a\n', mode: 0o600 }]);
    expect(await host.exists('/var/lib/kubeha/kubeadm')).toBe(true);
    expect((await ensureFile(host, { path, content: 'a\n', mode: 0o600 })).changes).toEqual([]);
  });

  it('GIVEN the same bytes with mode 0644 THEN it fixes only the mode and runs afterWrite only for new bytes', async () => {
    const host = new FakeHost({ files: { [path]: 'a\n' } });
    let reloads = 0;
    const wanted = { path, content: 'a\n', mode: 0o600, afterWrite: async () => void reloads++ };
    const plan = await ensureFile(host, wanted);
    expect(plan.contentDiffers).toBe(false);
    expect(plan.changes.map((c) => c.description)).toEqual([`set the mode of ${path} to 0600 (now 0644)`]);
    for (const c of plan.changes) await c.apply();
    expect(await host.fileMode(path)).toBe(0o600);
    expect(host.file(`${path}.kubeha.bak`)).toBeUndefined();
    expect(reloads).toBe(0);
    for (const c of (await ensureFile(host, { ...wanted, content: 'b\n' })).changes) await c.apply();
    expect(reloads).toBe(1);
  });

  it("GIVEN mode 'keep' THEN the file's own mode is kept, 0644 for a new one", async () => {
    const host = new FakeHost().setFile('/etc/hosts', 'x\n', 0o640);
    for (const c of (await ensureFile(host, { path: '/etc/hosts', content: 'y\n', mode: 'keep' })).changes) {
      await c.apply();
    }
    for (const c of (await ensureFile(host, { path: '/etc/new', content: 'y\n', mode: 'keep' })).changes) {
      await c.apply();
    }
    expect(host.writes.map((w) => [w.path, w.mode])).toEqual([
      ['/etc/hosts', 0o640],
      ['/etc/new', 0o644],
    ]);
  });

  it('GIVEN a secret file owned by another user THEN the owner is fixed, with or without new bytes, and then left', async () => {
    const host = new FakeHost().setFile(path, 'a\n', 0o600, { uid: 1000, gid: 1000 });
    const wanted = { path, content: 'a\n', mode: 0o600, owner: rootOwner };
    const plan = await ensureFile(host, wanted);
    expect(plan.changes.map((c) => c.description)).toEqual([`set the owner of ${path} to 0:0 (now 1000:1000)`]);
    for (const c of plan.changes) await c.apply();
    expect(await host.fileOwner(path)).toEqual(rootOwner);
    expect((await ensureFile(host, wanted)).changes).toEqual([]);

    host.setFile(path, 'old\n', 0o644, { uid: 1000, gid: 1000 });
    const rewrite = await ensureFile(host, wanted);
    expect(rewrite.changes.map((c) => c.description)).toEqual([`write ${path}`]);
    for (const c of rewrite.changes) await c.apply();
    expect(await host.fileOwner(path)).toEqual(rootOwner);
    expect(await host.fileMode(path)).toBe(0o600);
    expect((await ensureFile(host, wanted)).changes).toEqual([]);
  });
});
