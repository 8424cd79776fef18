import { activeSwaps, commentOutSwap } from '../../host-files/fstab-swap.ts';
import { ensureFile } from '../../os-actions/ensure-file.ts';
import type { PlannedChange } from '../../step-execution/step.ts';
import { type HostPrepPart, words } from './host-prep-params.ts';

export const zramGeneratorPath = '/etc/systemd/zram-generator.conf';
export const zramGeneratorContent =
  '# Written by kubeha (host-prep): no zram swap device, the kubelet needs swap off.\n';

/** Swap off now and after reboot: the active swaps, the fstab lines, systemd's swap units and the zram generator. */
export const swapPart: HostPrepPart = {
  name: 'swap',
  async plan({ host }) {
    const changes: PlannedChange[] = [];
    const swaps = activeSwaps(await host.readFile('/proc/swaps'));
    if (swaps.length > 0) {
      changes.push({
        description: `turn swap off now (swapoff -a: ${swaps.join(', ')})`,
        apply: async () => void (await host.exec('swapoff', ['-a'])),
      });
    }
    const fstab = await host.readFile('/etc/fstab');
    if (fstab !== undefined) {
      const { text, disabled } = commentOutSwap(fstab);
      if (disabled.length > 0) {
        const commented = await ensureFile(host, {
          path: '/etc/fstab',
          content: text,
          mode: 'keep',
          description: `comment out the swap lines of /etc/fstab (${disabled.length})`,
        });
        changes.push(...commented.changes);
      }
    }
    const { stdout } = await host.exec('systemctl', [
      'list-units',
      '--type=swap',
      '--all',
      '--plain',
      '--no-legend',
      '--no-pager',
    ]);
    const unmasked = stdout
      .split('\n')
      .map(words)
      .filter((f) => f[0]?.endsWith('.swap') && f[1] !== 'masked')
      .map((f) => f[0]!);
    if (unmasked.length > 0) {
      changes.push({
        description: `mask the systemd swap units ${unmasked.join(', ')}`,
        apply: async () => void (await host.exec('systemctl', ['mask', ...unmasked])),
      });
    }
    const zramInstalled =
      (await host.exists('/usr/lib/systemd/zram-generator.conf')) || (await host.exists(zramGeneratorPath));
    if (zramInstalled) {
      const zram = await ensureFile(host, {
        path: zramGeneratorPath,
        content: zramGeneratorContent,
        mode: 0o644,
        description: `disable the zram swap generator (${zramGeneratorPath})`,
      });
      changes.push(...zram.changes);
    }
    return changes;
  },
};
