import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipAddressMonitor } from '../../agent/health/ip-address-monitor.ts';
import { type VipChange, VipWatcher } from '../../agent/health/vip-watcher.ts';
import { waitFor } from '../support/wait-for.ts';
import { canRunNetnsLab, NetnsSandbox, sh } from './netns-sandbox.ts';

// The agent's VIP watcher on the real `ip -ts -o monitor address`, in a namespace where the test adds and removes the VIP
// the way keepalived does.
const sandbox = new NetnsSandbox('vipw');
let ns = '';

beforeAll(async () => {
  const can = await canRunNetnsLab();
  if (!can.ok) throw new Error(`the VIP watcher test needs root and iproute2: ${can.reason}`);
  ns = await sandbox.addNamespace('w');
  await sh('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
  await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  await sh('ip', ['-n', ns, 'addr', 'add', '10.213.77.11/24', 'dev', 'eth0']);
});
afterAll(() => sandbox.close());

/** A watcher of `vip` in the test's namespace, started and subscribed. */
async function startWatcher(vip: string): Promise<{ changes: VipChange[]; watcher: VipWatcher }> {
  const changes: VipChange[] = [];
  const watcher = new VipWatcher({
    monitor: ipAddressMonitor(['-n', ns]),
    vip: () => vip,
    localAddresses: () => [],
    onChange: (c) => changes.push(c),
  });
  watcher.start();
  // The monitor needs a moment to subscribe; an address added before that would be missed by the events alone.
  await new Promise((r) => setTimeout(r, 500));
  return { changes, watcher };
}

describe('VipWatcher on ip -ts -o monitor address', () => {
  it('GIVEN the VIP added and removed on eth0 THEN each change is reported once, within moments of the change', async () => {
    const { changes, watcher } = await startWatcher('10.213.77.100');
    try {
      const addedAt = Date.now();
      await sh('ip', ['-n', ns, 'addr', 'add', '10.213.77.100/32', 'dev', 'eth0']);
      await waitFor('the VIP to be seen', () => changes.some((c) => c.held) || undefined, 10_000);
      await sh('ip', ['-n', ns, 'addr', 'add', '10.213.77.101/32', 'dev', 'eth0']);
      const removedAt = Date.now();
      await sh('ip', ['-n', ns, 'addr', 'del', '10.213.77.100/32', 'dev', 'eth0']);
      await waitFor('the VIP to be gone', () => changes.at(-1)?.held === false || undefined, 10_000);
      expect(changes.map((c) => c.held)).toEqual([false, true, false]);
      // Stamped when the event arrived: after the command started, and soon after (the command itself takes a while).
      expect(changes[1]!.atMs).toBeGreaterThanOrEqual(addedAt);
      expect(changes[2]!.atMs).toBeGreaterThanOrEqual(removedAt);
      expect(changes[2]!.atMs - removedAt).toBeLessThan(5_000);
    } finally {
      watcher.stop();
    }
  });

  it('GIVEN the agent busy when the VIP leaves THEN the change is dated when ip saw it, not when the agent read it', async () => {
    const { changes, watcher } = await startWatcher('10.213.77.102');
    try {
      await sh('ip', ['-n', ns, 'addr', 'add', '10.213.77.102/32', 'dev', 'eth0']);
      await waitFor('the VIP to be seen', () => changes.some((c) => c.held) || undefined, 10_000);
      // WHEN the VIP is removed while this process's event loop is blocked for a second
      execFileSync('ip', ['-n', ns, 'addr', 'del', '10.213.77.102/32', 'dev', 'eth0']);
      const removedAt = Date.now();
      while (Date.now() - removedAt < 1_000) {
        // busy: the monitor's line waits in the pipe
      }
      const readFrom = Date.now();
      await waitFor('the VIP to be gone', () => changes.at(-1)?.held === false || undefined, 10_000);
      // THEN its time is ip's stamp, from before the loop was free to read the line
      expect(changes.at(-1)!.atMs).toBeLessThan(readFrom - 500);
      expect(changes.at(-1)!.atMs).toBeGreaterThanOrEqual(removedAt - 1_000);
    } finally {
      watcher.stop();
    }
  });
});
