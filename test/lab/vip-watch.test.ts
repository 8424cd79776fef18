import { describe, expect, it } from 'vitest';
import { outagesOf } from './vip-watch.ts';

describe('outagesOf', () => {
  it('GIVEN probes out of order WHEN read THEN each outage runs from its first failed start to the next good start', () => {
    const probes = [
      { at: 150, ok: false },
      { at: 0, ok: true },
      { at: 100, ok: false },
      { at: 200, ok: true },
      { at: 250, ok: true },
      { at: 300, ok: false },
      { at: 400, ok: false },
    ];
    expect(outagesOf(probes)).toEqual([
      { fromMs: 100, ms: 100 },
      // Still down at the last probe: counted up to it.
      { fromMs: 300, ms: 100 },
    ]);
  });

  it('GIVEN only good probes THEN there is no outage', () => {
    expect(outagesOf([{ at: 0, ok: true }])).toEqual([]);
  });
});
