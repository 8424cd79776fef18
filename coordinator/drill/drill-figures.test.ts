import { describe, expect, it } from 'vitest';
import { AgentVipTimelines } from './agent-vip-timeline.ts';
import { holderTimeline, outagesOf, timeWithHolders, toResolution } from './drill-figures.ts';

const probes = (startMs: number, everyMs: number, oks: string) =>
  [...oks].map((c, i) => ({ startedAtMs: startMs + i * everyMs, ok: c === '1' }));

describe('outagesOf', () => {
  it('GIVEN probes every 50 ms THEN an outage runs from the first failed start to the next good start, whatever order they finished in', () => {
    const list = probes(1000, 50, '1100011101');
    expect(outagesOf([...list].reverse())).toEqual([
      { fromMs: 1100, toMs: 1250 },
      { fromMs: 1400, toMs: 1450 },
    ]);
  });

  it('GIVEN the probes end failing THEN the last outage is open, up to the last start', () => {
    expect(outagesOf(probes(0, 50, '1000'))).toEqual([{ fromMs: 50, toMs: 150, open: true }]);
    expect(outagesOf(probes(0, 50, '111'))).toEqual([]);
    expect(outagesOf([])).toEqual([]);
  });
});

/** A node's VIP changes, each [atMs, held]. */
function vipChanges(node: string, ...changes: [number, boolean][]) {
  return { node, changes: changes.map(([atMs, held]) => ({ atMs, held })) };
}

describe('holderTimeline', () => {
  const cp1 = vipChanges('cp1', [0, true], [1400, false], [9000, true]);
  const cp2 = vipChanges('cp2', [1520, true], [9000, false]);

  it('GIVEN cp1 loses the VIP and cp2 takes it THEN the spans, the time with nobody and the order of holders follow', () => {
    const spans = holderTimeline([cp2, cp1], 1000, 12_000);
    expect(spans).toEqual([
      { atMs: 1000, holders: ['cp1'] },
      { atMs: 1400, holders: [] },
      { atMs: 1520, holders: ['cp2'] },
      // Changes at the same instant are one step: no moment with both or neither.
      { atMs: 9000, holders: ['cp1'] },
    ]);
    expect(timeWithHolders(spans, 12_000, (n) => n === 0)).toBe(120);
    expect(timeWithHolders(spans, 12_000, (n) => n > 1)).toBe(0);
    expect(toResolution(120)).toBe(100);
    expect(toResolution(130)).toBe(150);
  });

  it('GIVEN cp2 takes the VIP before cp1 lets go THEN the overlap is counted; changes outside the window are left out', () => {
    const late = vipChanges('cp1', [0, true], [1600, false]);
    const spans = holderTimeline([late, cp2], 1000, 5000);
    expect(spans.map((s) => s.holders)).toEqual([['cp1'], ['cp1', 'cp2'], ['cp2']]);
    expect(timeWithHolders(spans, 5000, (n) => n > 1)).toBe(80);
    expect(holderTimeline([cp1, cp2], 2000, 3000)).toEqual([{ atMs: 2000, holders: ['cp2'] }]);
  });

  it('GIVEN a node that never reported THEN it is taken as not holding the VIP', () => {
    expect(holderTimeline([{ node: 'cp3', changes: [] }, cp1], 100, 200)).toEqual([{ atMs: 100, holders: ['cp1'] }]);
  });
});

describe('AgentVipTimelines', () => {
  it('GIVEN messages with agent send times THEN the clock offset is the smallest receive-minus-send, and transitions stay in time order', () => {
    const timelines = new AgentVipTimelines();
    expect(timelines.history('agent-a')).toEqual({ transitions: [], clockOffsetMs: undefined });
    // The agent's clock is 500 ms behind; transit takes 2..40 ms.
    for (const transit of [40, 2, 15]) timelines.clockSample('agent-a', 10_000, 10_500 + transit);
    timelines.transition('agent-a', { vip: '10.0.0.100', held: false, atMs: 20_000, sentAtMs: 20_001 });
    // A reconnect re-sends the state as of an earlier time.
    timelines.transition('agent-a', { vip: '10.0.0.100', held: true, atMs: 19_000, sentAtMs: 21_000 });
    expect(timelines.history('agent-a')).toEqual({
      transitions: [
        { atMs: 19_000, held: true },
        { atMs: 20_000, held: false },
      ],
      clockOffsetMs: 502,
    });
    timelines.forget('agent-a');
    expect(timelines.history('agent-a').transitions).toEqual([]);
  });
});
