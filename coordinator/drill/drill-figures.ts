/**
 * The drill's arithmetic, pure: outages from probes of /readyz through the endpoint, and the VIP holder timeline from
 * the agents' own transitions. All times are milliseconds on the coordinator's clock.
 */

export interface ProbeResult {
  /** When the probe started (its outcome is known later; a hung probe fails at its timeout). */
  startedAtMs: number;
  ok: boolean;
}

export interface Outage {
  fromMs: number;
  toMs: number;
  /** The drill's window ended before a probe succeeded again: `toMs` is the last probe's start. */
  open?: true;
}

/**
 * An outage runs from the start of the first failed probe to the start of the first good one after it, so it is
 * what a client starting a request at that moment saw, to the probes' interval.
 */
export function outagesOf(probes: readonly ProbeResult[]): Outage[] {
  const sorted = [...probes].sort((a, b) => a.startedAtMs - b.startedAtMs);
  const out: Outage[] = [];
  let from: number | undefined;
  for (const p of sorted) {
    if (!p.ok && from === undefined) from = p.startedAtMs;
    if (p.ok && from !== undefined) {
      out.push({ fromMs: from, toMs: p.startedAtMs });
      from = undefined;
    }
  }
  const last = sorted.at(-1);
  if (from !== undefined && last) out.push({ fromMs: from, toMs: last.startedAtMs, open: true });
  return out;
}

/** A node's VIP changes, already on the coordinator's clock, in any order. */
export interface NodeVipChanges {
  node: string;
  changes: readonly { atMs: number; held: boolean }[];
}

/** From `atMs` on (until the next entry), exactly these nodes held the VIP (sorted names). */
export interface HolderSpan {
  atMs: number;
  holders: string[];
}

/**
 * Who held the VIP from `fromMs` to `toMs`: each node's state at `fromMs` is its last change before it (a node
 * with none has not held it), then every change in order. Changes at the same instant are taken together.
 */
export function holderTimeline(nodes: readonly NodeVipChanges[], fromMs: number, toMs: number): HolderSpan[] {
  const held = new Map<string, boolean>();
  const later: { atMs: number; node: string; held: boolean }[] = [];
  for (const { node, changes } of nodes) {
    const sorted = [...changes].sort((a, b) => a.atMs - b.atMs);
    held.set(node, sorted.filter((c) => c.atMs <= fromMs).at(-1)?.held ?? false);
    for (const c of sorted) if (c.atMs > fromMs && c.atMs <= toMs) later.push({ atMs: c.atMs, node, held: c.held });
  }
  later.sort((a, b) => a.atMs - b.atMs);
  const holdersNow = () =>
    [...held]
      .filter(([, h]) => h)
      .map(([n]) => n)
      .sort();
  const spans: HolderSpan[] = [{ atMs: fromMs, holders: holdersNow() }];
  for (let i = 0; i < later.length; ) {
    const at = later[i]!.atMs;
    for (; i < later.length && later[i]!.atMs === at; i++) held.set(later[i]!.node, later[i]!.held);
    const holders = holdersNow();
    const last = spans.at(-1)!;
    if (last.holders.join(',') === holders.join(',')) continue;
    if (last.atMs === at) last.holders = holders;
    else spans.push({ atMs: at, holders });
  }
  return spans;
}

/** The total time, up to `toMs`, during which `count(holders)` matched. */
export function timeWithHolders(spans: readonly HolderSpan[], toMs: number, match: (count: number) => boolean): number {
  let total = 0;
  spans.forEach((span, i) => {
    const end = Math.min(spans[i + 1]?.atMs ?? toMs, toMs);
    if (match(span.holders.length) && end > span.atMs) total += end - span.atMs;
  });
  return total;
}

/** The drill reports every duration to this resolution. */
export const reportResolutionMs = 50;

export function toResolution(ms: number): number {
  return Math.round(ms / reportResolutionMs) * reportResolutionMs;
}
