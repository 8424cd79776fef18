// The lab's own view of the endpoint, independent of kubeha: which control planes have the VIP on their interface
// (sampled 20 times a second in each node, from the start of the deploy), and, during the failover drill, /readyz
// through the VIP probed from a worker on a fixed 50 ms schedule.
import type { ChildProcess } from 'node:child_process';
import type { LabNode } from './lab-node.ts';
import { projectRoot } from './lab-node.ts';

export interface VipWatchResult {
  /** The longest time /readyz through the VIP did not answer, in seconds. */
  longestGapS: number;
  /** The most nodes that had the VIP at once. */
  holdersMax: number;
  /** Each distinct holder set in order, e.g. [["cp1"], [], ["cp2"]] ([] while nobody had it). */
  holderHistory: string[][];
  probes: number;
  failedProbes: number;
  /** The last probe of /readyz answered. */
  recovered: boolean;
  /** Each outage of /readyz, longest first: from the start of its first failed probe (ms since the epoch). */
  outages: Outage[];
}

export interface Outage {
  fromMs: number;
  ms: number;
}

/** From `atMs` (the lab's clock, ms since the epoch) on, exactly these control planes had the VIP. */
export interface HolderSample {
  atMs: number;
  holders: string[];
}

const probeIntervalMs = 50;

export class VipWatch {
  private probe: ChildProcess | undefined;
  private readonly watchers: ChildProcess[] = [];
  private readonly readyz: { at: number; ok: boolean }[] = [];
  private readonly holders = new Map<string, boolean>();
  private holdersMax = 0;
  private readonly history: HolderSample[] = [];
  /** When each control plane's samples arrived (ms since the epoch), to know what the watcher could not see. */
  private readonly sampleTimes = new Map<string, number[]>();
  private readonly vip: string;

  constructor(options: { controlPlanes: LabNode[]; vip: string; maxSeconds: number }) {
    const { controlPlanes, vip, maxSeconds } = options;
    this.vip = vip;
    const samples = maxSeconds * 20;
    for (const node of controlPlanes) {
      // One bounded loop per control plane: 20 samples a second of whether eth0 carries the VIP.
      const watcher = node.spawn('sh', [
        '-c',
        `i=0; while [ $i -lt ${samples} ]; do if ip -4 -o addr show dev eth0 | grep -q " ${vip}/"; then echo 1; else echo 0; fi; i=$((i+1)); sleep 0.05; done`,
      ]);
      const times: number[] = [];
      this.sampleTimes.set(node.name, times);
      lines(watcher, (line) => {
        times.push(Date.now());
        this.holders.set(node.name, line === '1');
        // Until every control plane has answered once, "nobody has it" would only mean "not asked yet".
        if (this.holders.size < controlPlanes.length) return;
        const now = [...this.holders]
          .filter(([, held]) => held)
          .map(([name]) => name)
          .sort();
        this.holdersMax = Math.max(this.holdersMax, now.length);
        const last = this.history.at(-1);
        if (!last || last.holders.join(',') !== now.join(',')) this.history.push({ atMs: Date.now(), holders: now });
      });
      this.watchers.push(watcher);
    }
  }

  /** Starts probing https://VIP:PORT/readyz from `prober`, one probe every 50 ms, each on its own. */
  startProbe(prober: LabNode, port: number, maxSeconds: number): void {
    this.probe = prober.spawn('node', [
      `${projectRoot}/test/lab/endpoint-probe.ts`,
      `https://${this.vip}:${port}/readyz`,
      '/etc/kubernetes/pki/ca.crt',
      String(probeIntervalMs),
      String((maxSeconds * 1000) / probeIntervalMs),
    ]);
    lines(this.probe, (line) => {
      const [at, ok] = line.split(' ');
      this.readyz.push({ at: Number(at), ok: ok === '1' });
    });
  }

  /** The holder changes seen so far, with the set at `fromMs` first. */
  holdersBetween(fromMs: number, toMs: number): HolderSample[] {
    const before = this.history.filter((s) => s.atMs <= fromMs).at(-1);
    const during = this.history.filter((s) => s.atMs > fromMs && s.atMs <= toMs);
    return [...(before ? [{ atMs: fromMs, holders: before.holders }] : []), ...during];
  }

  /**
   * The longest time (ms) between two consecutive samples of one control plane in the window (the sample before it
   * included): a holder that had the VIP for less than this may have come and gone unseen.
   */
  samplingGapBetween(fromMs: number, toMs: number): number {
    let longest = 0;
    for (const times of this.sampleTimes.values()) {
      let previous = times.filter((t) => t <= fromMs).at(-1);
      for (const t of times) {
        if (t <= fromMs || t > toMs) continue;
        if (previous !== undefined) longest = Math.max(longest, t - previous);
        previous = t;
      }
    }
    return longest;
  }

  /** The longest outage (ms) of the probes started in the window: from a failed start to the next good start. */
  longestGapBetween(fromMs: number, toMs: number): number {
    return longestGap(this.readyz.filter((p) => p.at >= fromMs && p.at <= toMs));
  }

  /** Waits until the latest probe of /readyz answered, at most `seconds`; true when it did. */
  async recovered(seconds: number): Promise<boolean> {
    for (let i = 0; i < seconds * 10; i++) {
      if (this.latestProbe()?.ok === true) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  private latestProbe() {
    return this.readyz.reduce<{ at: number; ok: boolean } | undefined>(
      (a, b) => (!a || b.at > a.at ? b : a),
      undefined,
    );
  }

  stop(): VipWatchResult {
    this.probe?.kill('SIGKILL');
    for (const w of this.watchers) w.kill('SIGKILL');
    return {
      longestGapS: Math.round(longestGap(this.readyz) / 100) / 10,
      outages: outagesOf(this.readyz).sort((a, b) => b.ms - a.ms),
      holdersMax: this.holdersMax,
      holderHistory: this.history.map((s) => s.holders),
      probes: this.readyz.length,
      failedProbes: this.readyz.filter((s) => !s.ok).length,
      recovered: this.latestProbe()?.ok === true,
    };
  }
}

function longestGap(probes: { at: number; ok: boolean }[]): number {
  return Math.max(0, ...outagesOf(probes).map((o) => o.ms));
}

/** From a failed probe's start to the next good probe's start (or the last probe's, when none answered after it). */
export function outagesOf(probes: { at: number; ok: boolean }[]): Outage[] {
  const sorted = [...probes].sort((a, b) => a.at - b.at);
  const outages: Outage[] = [];
  let downSince: number | undefined;
  for (const sample of sorted) {
    if (!sample.ok && downSince === undefined) downSince = sample.at;
    if (sample.ok && downSince !== undefined) {
      outages.push({ fromMs: downSince, ms: sample.at - downSince });
      downSince = undefined;
    }
  }
  const lastAt = sorted.at(-1)?.at;
  if (downSince !== undefined && lastAt !== undefined) outages.push({ fromMs: downSince, ms: lastAt - downSince });
  return outages;
}

function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    rest += chunk.toString();
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) onLine(p.trim());
  });
}
