import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { fakeOsState } from '../host/fake-os-state.ts';
import { activeUnits, ensureUnit } from './ensure-unit.ts';

async function applyAll(changes: { apply(): Promise<void> }[]): Promise<void> {
  for (const c of changes) await c.apply();
}

describe('ensureUnit', () => {
  it('GIVEN a stopped, disabled unit wanted running THEN one enable --now, and nothing once it runs', async () => {
    const host = new FakeHost();
    const os = fakeOsState(host, { units: { containerd: {} } });
    host.expect('systemctl', ['enable', '--now', 'containerd'], {
      effect: () => os.setUnit('containerd', { enabled: true, active: true }),
    });
    const changes = await ensureUnit(host, 'containerd', { enabled: true, active: true });
    expect(changes.map((c) => c.description)).toEqual([
      'enable and start containerd (systemctl enable --now containerd)',
    ]);
    await applyAll(changes);
    expect(await ensureUnit(host, 'containerd', { enabled: true, active: true })).toEqual([]);
    host.assertNoPendingExpectations();
  });

  it('GIVEN a running unit wanted off THEN disable --now, named by the reason', async () => {
    const host = new FakeHost();
    fakeOsState(host, { units: { firewalld: { enabled: true, active: true } } });
    const changes = await ensureUnit(host, 'firewalld', { enabled: false, active: false }, 'spec: firewall disabled');
    expect(changes.map((c) => c.description)).toEqual(['stop and disable firewalld (spec: firewall disabled)']);
  });

  it('GIVEN only enabled wanted THEN the active state is neither read nor changed', async () => {
    const host = new FakeHost();
    fakeOsState(host, { units: { kubelet: {} } });
    const changes = await ensureUnit(host, 'kubelet', { enabled: true });
    expect(changes.map((c) => c.description)).toEqual(['enable kubelet (systemctl enable kubelet)']);
    expect(host.commandLines()).toEqual(['systemctl is-enabled kubelet']);
  });

  it('GIVEN a running, enabled unit wanted enabled but stopped THEN only a stop', async () => {
    const host = new FakeHost();
    fakeOsState(host, { units: { haproxy: { enabled: true, active: true } } });
    const changes = await ensureUnit(host, 'haproxy', { enabled: true, active: false });
    expect(changes.map((c) => c.description)).toEqual(['stop haproxy (systemctl stop haproxy)']);
  });

  it('reads several units with one systemctl is-active, in order', async () => {
    const host = new FakeHost().stub('systemctl', ['is-active', 'chronyd', 'ntpd'], {
      exitCode: 3,
      stdout: 'inactive\nactive\n',
    });
    expect(await activeUnits(host, ['chronyd', 'ntpd'])).toEqual(['ntpd']);
  });
});
