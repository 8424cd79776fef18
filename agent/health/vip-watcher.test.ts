import { describe, expect, it } from 'vitest';
import { type AddressMonitor, parseAddressEvent, type VipChange, VipWatcher } from './vip-watcher.ts';

/** A scripted `ip -o monitor address`: the test emits lines and ends it. */
function scriptedMonitor() {
  let line: ((l: string) => void) | undefined;
  let exit: ((reason: string) => void) | undefined;
  let starts = 0;
  const monitor: AddressMonitor = {
    start(onLine, onExit) {
      starts++;
      line = onLine;
      exit = onExit;
    },
    stop() {
      line = undefined;
    },
  };
  return { monitor, emit: (l: string) => line?.(l), end: (reason: string) => exit?.(reason), starts: () => starts };
}

const added = '2: eth0    inet 10.0.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever';

describe('parseAddressEvent', () => {
  it.each([
    [added, { deleted: false, address: '10.0.0.100' }],
    [`Deleted ${added}`, { deleted: true, address: '10.0.0.100' }],
    ['3: eth1    inet6 FD00::64/128 scope global \\       valid_lft forever', { deleted: false, address: 'fd00::64' }],
    ['2: eth0    link/ether 52:54:00:12:34:56', undefined],
    ['', undefined],
  ])('%s', (line, expected) => {
    expect(parseAddressEvent(line)).toEqual(expected);
  });
});

describe('VipWatcher', () => {
  it('GIVEN keepalived adds and removes the VIP THEN each change is reported once, stamped when the event arrived', () => {
    const { monitor, emit } = scriptedMonitor();
    let clock = 5_000;
    const changes: VipChange[] = [];
    const watcher = new VipWatcher({
      monitor,
      vip: () => '10.0.0.100',
      localAddresses: () => ['10.0.0.11'],
      onChange: (c) => changes.push(c),
      now: () => clock,
    });
    watcher.start();
    clock = 6_000;
    emit(added);
    emit(added);
    emit('2: eth0    inet 10.0.0.101/32 scope global eth0');
    clock = 7_250;
    emit(`Deleted ${added}`);
    watcher.stop();
    expect(changes).toEqual([
      { vip: '10.0.0.100', held: false, atMs: 5_000 },
      { vip: '10.0.0.100', held: true, atMs: 6_000 },
      { vip: '10.0.0.100', held: false, atMs: 7_250 },
    ]);
    expect(watcher.current()).toEqual({ vip: '10.0.0.100', held: false, atMs: 7_250 });
  });

  it('GIVEN no VIP known yet THEN nothing is reported until the phase names one', () => {
    const { monitor, emit } = scriptedMonitor();
    let vip: string | undefined;
    const changes: VipChange[] = [];
    const watcher = new VipWatcher({
      monitor,
      vip: () => vip,
      localAddresses: () => ['10.0.0.100'],
      onChange: (c) => changes.push(c),
      now: () => 1,
    });
    watcher.start();
    emit(added);
    expect(changes).toEqual([]);
    vip = '10.0.0.100';
    watcher.refresh();
    expect(changes).toEqual([{ vip: '10.0.0.100', held: true, atMs: 1 }]);
    watcher.stop();
  });

  it('GIVEN the monitor dies THEN the addresses are polled until it is started again', async () => {
    const { monitor, end, starts } = scriptedMonitor();
    let addresses = ['10.0.0.11'];
    const changes: boolean[] = [];
    const watcher = new VipWatcher({
      monitor,
      vip: () => '10.0.0.100',
      localAddresses: () => addresses,
      onChange: (c) => changes.push(c.held),
      fallbackPollMs: 10,
      restartDelaysMs: [80],
    });
    watcher.start();
    end('ip -o monitor address exited with 1: Cannot open netlink socket');
    addresses = ['10.0.0.11', '10.0.0.100'];
    await new Promise((r) => setTimeout(r, 40));
    expect(changes).toEqual([false, true]);
    expect(starts()).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(starts()).toBe(2);
    watcher.stop();
  });
});
