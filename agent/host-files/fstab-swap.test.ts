import { describe, expect, it } from 'vitest';
import { activeSwaps, commentOutSwap, swapCommentPrefix } from './fstab-swap.ts';

describe('commentOutSwap', () => {
  it('comments UUID=, LABEL=, device and swap-file lines and keeps everything else byte for byte', () => {
    const fstab = [
      '# /etc/fstab: comments stay',
      '/dev/mapper/rl-root /  xfs defaults 0 0',
      'UUID=0a1b2c3d-1111-2222-3333-444455556666 none swap defaults 0 0',
      'LABEL=SWAP\tnone\tswap\tsw\t0\t0',
      '/swapfile none swap sw,pri=10 0 0',
      '   /dev/sdb2    none   swap   defaults   0   0   ',
      '',
    ].join('\n');
    const { text, disabled } = commentOutSwap(fstab);
    expect(text).toBe(
      [
        '# /etc/fstab: comments stay',
        '/dev/mapper/rl-root /  xfs defaults 0 0',
        `${swapCommentPrefix}UUID=0a1b2c3d-1111-2222-3333-444455556666 none swap defaults 0 0`,
        `${swapCommentPrefix}LABEL=SWAP\tnone\tswap\tsw\t0\t0`,
        `${swapCommentPrefix}/swapfile none swap sw,pri=10 0 0`,
        `${swapCommentPrefix}   /dev/sdb2    none   swap   defaults   0   0   `,
        '',
      ].join('\n'),
    );
    expect(disabled).toHaveLength(4);
  });

  it('leaves already commented swap lines alone and is idempotent', () => {
    const fstab = '#/dev/mapper/cs-swap none swap defaults 0 0\n# UUID=x none swap sw 0 0\n';
    expect(commentOutSwap(fstab)).toEqual({ text: fstab, disabled: [] });
    const once = commentOutSwap('/dev/sda2 none swap sw 0 0\n').text;
    expect(commentOutSwap(once)).toEqual({ text: once, disabled: [] });
  });

  it('changes nothing when there is no swap, or when "swap" is only a mount point or an option', () => {
    const fstab = '/dev/sda1 / xfs defaults 0 0\n/dev/sdc1 /swap xfs defaults 0 0\n/dev/sdd1 /data xfs swap 0 0\n';
    expect(commentOutSwap(fstab)).toEqual({ text: fstab, disabled: [] });
    expect(commentOutSwap('')).toEqual({ text: '', disabled: [] });
  });
});

describe('activeSwaps', () => {
  it('reads /proc/swaps after the header', () => {
    expect(
      activeSwaps('Filename Type Size Used Priority\n/dev/dm-1 partition 2097148 0 -2\n/swapfile file 1024 0 -3\n'),
    ).toEqual(['/dev/dm-1', '/swapfile']);
    expect(activeSwaps('Filename Type Size Used Priority\n')).toEqual([]);
    expect(activeSwaps(undefined)).toEqual([]);
  });
});
