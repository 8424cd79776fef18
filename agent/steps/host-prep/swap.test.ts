import { describe, expect, it } from 'vitest';
import { runStep } from '../../step-execution/step-runner.ts';
import { cpParams, freshNode, partStep, swapUnit } from './host-prep-node.fixture.ts';
import { swapPart, zramGeneratorContent, zramGeneratorPath } from './swap.ts';

describe('host-prep swap', () => {
  it('GIVEN swap on, in fstab, as a unit and from zram-generator WHEN run twice THEN all four are turned off once', async () => {
    const { host } = freshNode('rocky-9');
    host.setFile('/usr/lib/systemd/zram-generator.conf', '[zram0]\n');
    const first = await runStep(partStep(swapPart), cpParams, { host });
    expect(first.changes).toEqual([
      'turn swap off now (swapoff -a: /dev/dm-1)',
      'comment out the swap lines of /etc/fstab (1)',
      `mask the systemd swap units ${swapUnit}`,
      `disable the zram swap generator (${zramGeneratorPath})`,
    ]);
    expect(host.file(zramGeneratorPath)).toBe(zramGeneratorContent);
    expect(host.file('/etc/fstab')).toContain('# kubeha: swap off for the kubelet: /dev/mapper/rl-swap');
    host.clearRecords();
    expect(await runStep(partStep(swapPart), cpParams, { host })).toMatchObject({ changed: false, changes: [] });
    expect(host.writes).toEqual([]);
  });
});
