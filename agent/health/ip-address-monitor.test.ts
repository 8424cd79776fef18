import { describe, expect, it } from 'vitest';
import { splitTimestamp } from './ip-address-monitor.ts';

describe('splitTimestamp (ip -ts)', () => {
  const line = '3: eth0    inet 10.0.0.100/32 scope global eth0\\       valid_lft forever preferred_lft forever';
  const stampedAt = new Date('2026-12-02T16:21:48.429').getTime();

  it('takes the local-time stamp ip wrote, to the millisecond, and returns the event line after it', () => {
    expect(splitTimestamp(`[2026-12-02T16:21:48.429414] ${line}`, stampedAt + 40)).toEqual({ line, atMs: stampedAt });
    expect(splitTimestamp(`[2026-12-02T16:21:48.429414] Deleted ${line}`, stampedAt + 40).line).toBe(`Deleted ${line}`);
  });

  it('dates a line without a stamp, or with one seconds away from its reading (a clock step), when it was read', () => {
    expect(splitTimestamp(line, 1234)).toEqual({ line, atMs: 1234 });
    expect(splitTimestamp(`[2026-12-02T16:21:48.429414] ${line}`, stampedAt + 60_000)).toEqual({
      line,
      atMs: stampedAt + 60_000,
    });
  });
});
