import { describe, expect, it } from 'vitest';
import { hostsBlockBegin, hostsBlockEnd, renderHostsBlock, withHostsBlock } from './hosts-block.ts';

const block = renderHostsBlock([
  { name: 'cp1', address: '10.0.0.1' },
  { name: 'cp2', address: '10.0.0.2' },
]);

describe('withHostsBlock', () => {
  it('appends the block once and keeps unrelated lines and comments', () => {
    const hosts = '127.0.0.1 localhost\n# my office printer\n10.9.9.9 printer\n';
    const once = withHostsBlock(hosts, block);
    expect(once).toBe(`${hosts}${hostsBlockBegin}\n10.0.0.1 cp1\n10.0.0.2 cp2\n${hostsBlockEnd}\n`);
    expect(withHostsBlock(once, block)).toBe(once);
  });

  it('replaces the block in place, not duplicated, with lines after it kept', () => {
    const hosts = `127.0.0.1 localhost\n${hostsBlockBegin}\n10.0.0.1 old-name\n${hostsBlockEnd}\n# after\n10.9.9.9 printer\n`;
    expect(withHostsBlock(hosts, block)).toBe(
      `127.0.0.1 localhost\n${hostsBlockBegin}\n10.0.0.1 cp1\n10.0.0.2 cp2\n${hostsBlockEnd}\n# after\n10.9.9.9 printer\n`,
    );
  });

  it('drops a second copy of the block', () => {
    const copy = `${hostsBlockBegin}\n10.0.0.5 x\n${hostsBlockEnd}`;
    const hosts = `${copy}\n127.0.0.1 localhost\n${copy}\n`;
    expect(withHostsBlock(hosts, block)).toBe(`${block.join('\n')}\n127.0.0.1 localhost\n`);
  });

  it('handles a file without a final newline and an empty file', () => {
    expect(withHostsBlock('127.0.0.1 localhost', block)).toBe(`127.0.0.1 localhost\n${block.join('\n')}\n`);
    expect(withHostsBlock('', block)).toBe(`${block.join('\n')}\n`);
  });

  it('refuses a block that is opened but never closed', () => {
    expect(() => withHostsBlock(`${hostsBlockBegin}\n10.0.0.1 cp1\n`, block)).toThrow(/line 1 opens the kubeha block/);
  });
});
