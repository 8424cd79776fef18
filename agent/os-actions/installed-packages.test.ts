import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { fakeOsState } from '../host/fake-os-state.ts';
import { missingPackages, packageInstallChange, parseInstalledVersions } from './installed-packages.ts';

describe('installed packages', () => {
  it('parseInstalledVersions skips packages that are not installed', () => {
    expect([...parseInstalledVersions('kubelet 1.31.4\npackage kubeadm is not installed\n')]).toEqual([
      ['kubelet', '1.31.4'],
    ]);
  });

  it('GIVEN one of two packages installed THEN one rpm query names the other as missing', async () => {
    const host = new FakeHost();
    fakeOsState(host, { packages: { haproxy: '2.8.3' }, queries: [['keepalived', 'haproxy']] });
    expect(await missingPackages(host, ['keepalived', 'haproxy'])).toEqual(['keepalived']);
    expect(host.commandLines()).toEqual(["rpm -q --queryformat '%{NAME} %{VERSION}\\n' keepalived haproxy"]);
  });

  it('builds the dnf command with its options, and says it in the dry-run line', async () => {
    const host = new FakeHost().expect('dnf', [
      'install',
      '-y',
      '--allowerasing',
      'kubelet-1.34.4',
      '--disableexcludes=kubernetes',
    ]);
    const change = packageInstallChange(host, ['kubelet-1.34.4'], {
      allowErasing: true,
      disableExcludesOf: 'kubernetes',
    });
    expect(change.description).toBe(
      'install kubelet-1.34.4 (dnf install -y --allowerasing kubelet-1.34.4 --disableexcludes=kubernetes)',
    );
    await change.apply();
    host.assertNoPendingExpectations();
  });
});
