import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { fakeOsState } from '../host/fake-os-state.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { createLeaveLoadBalancerStep } from './leave-load-balancer.ts';

const step = createLeaveLoadBalancerStep({ vipReleaseWaitMs: 30, pollMs: 5 });
const ownAddress = '2: eth0    inet 192.168.1.11/24 brd 192.168.1.255 scope global eth0\\       valid_lft forever';
const vipAddress = '2: eth0    inet 192.168.1.100/32 scope global eth0\\       valid_lft forever';

/** A load-balancer node: keepalived holding the VIP (or not), HAProxy running. */
function lbNode(holdsVip: boolean) {
  const host = new FakeHost();
  const os = fakeOsState(host, {
    units: { keepalived: { enabled: true, active: true }, haproxy: { enabled: true, active: true } },
  });
  const addresses = { vip: holdsVip };
  host.stub('ip', ['-o', 'address', 'show'], {
    stdout: () => [ownAddress, ...(addresses.vip ? [vipAddress] : [])].join('\n'),
  });
  return { host, os, addresses };
}

describe('leave-load-balancer', () => {
  it('GIVEN the VIP holder WHEN run THEN keepalived stops first (the VIP leaves), then HAProxy; a second run changes nothing', async () => {
    const { host, os, addresses } = lbNode(true);
    host.expect('systemctl', ['disable', '--now', 'keepalived'], {
      effect: () => {
        os.setUnit('keepalived', { enabled: false, active: false });
        addresses.vip = false;
      },
    });
    let vipWhenHaproxyStopped: boolean | undefined;
    host.expect('systemctl', ['disable', '--now', 'haproxy'], {
      effect: () => {
        vipWhenHaproxyStopped = addresses.vip;
        os.setUnit('haproxy', { enabled: false, active: false });
      },
    });

    const result = await runStep(step, { vip: '192.168.1.100' }, { host });

    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes).toEqual([
      'stop and disable keepalived (systemctl disable --now keepalived: the VIP moves to a peer); wait until 192.168.1.100 is off this node',
      'stop and disable haproxy (systemctl disable --now haproxy)',
    ]);
    const order = host.commands.map((c) => c.args.join(' ')).filter((c) => c.startsWith('disable'));
    expect(order).toEqual(['disable --now keepalived', 'disable --now haproxy']);
    expect(vipWhenHaproxyStopped).toBe(false);

    const again = await runStep(step, { vip: '192.168.1.100' }, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
  });

  it('GIVEN keepalived stops but the VIP stays on the interface WHEN run THEN the address is deleted after the wait', async () => {
    const { host, os, addresses } = lbNode(true);
    host.expect('systemctl', ['disable', '--now', 'keepalived'], {
      effect: () => os.setUnit('keepalived', { enabled: false, active: false }),
    });
    host.expect('ip', ['address', 'del', '192.168.1.100/32', 'dev', 'eth0'], {
      effect: () => {
        addresses.vip = false;
      },
    });
    host.expect('systemctl', ['disable', '--now', 'haproxy'], {
      effect: () => os.setUnit('haproxy', { enabled: false, active: false }),
    });
    const lines: string[] = [];
    const result = await runStep(step, { vip: '192.168.1.100' }, { host, onLog: (_s, t) => lines.push(t) });
    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(lines).toContain('192.168.1.100 is still on eth0 30 ms after keepalived stopped: deleting it');
  });

  it('GIVEN keepalived already stopped and the VIP left behind WHEN run THEN only the address is deleted', async () => {
    const { host, os } = lbNode(true);
    os.setUnit('keepalived', { enabled: false, active: false });
    os.setUnit('haproxy', { enabled: false, active: false });
    const result = await runStep(step, { vip: '192.168.1.100' }, { host, dryRun: true });
    expect(result.changes).toEqual(['ip address del 192.168.1.100/32 dev eth0 (keepalived is stopped)']);
  });

  it('GIVEN a node that does not hold the VIP WHEN run THEN both services stop without waiting for anything', async () => {
    const { host, os } = lbNode(false);
    host.expect('systemctl', ['disable', '--now', 'keepalived'], {
      effect: () => os.setUnit('keepalived', { enabled: false, active: false }),
    });
    host.expect('systemctl', ['disable', '--now', 'haproxy'], {
      effect: () => os.setUnit('haproxy', { enabled: false, active: false }),
    });
    expect(await runStep(step, { vip: '192.168.1.100' }, { host })).toMatchObject({ outcome: 'succeeded' });
    host.assertNoPendingExpectations();
  });

  it('GIVEN systemctl fails WHEN run THEN the failure carries the command line, exit code and stderr tail', async () => {
    const { host } = lbNode(true);
    host.expect('systemctl', ['disable', '--now', 'keepalived'], {
      exitCode: 1,
      stderr: 'Failed to disable unit: Access denied\n',
    });
    const result = await runStep(step, { vip: '192.168.1.100' }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({
      command: 'systemctl disable --now keepalived',
      exitCode: 1,
      stderrTail: 'Failed to disable unit: Access denied',
    });
  });

  it('GIVEN a VIP that is not an IP address WHEN parsed THEN refused naming the field', () => {
    expect(() => step.parseParams({ vip: 'api.example.com' })).toThrow(/leave-load-balancer\.vip: not an IP address/);
    expect(() => step.parseParams({})).toThrow(/leave-load-balancer: must have required properties vip/);
    expect(step.parseParams({ vip: 'fd00::64' })).toEqual({ vip: 'fd00::64' });
  });
});
