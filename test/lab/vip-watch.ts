// The lab's own view of the endpoint during the failover drill: /readyz through the VIP probed from a worker,
// and which control planes have the VIP on their interface, sampled side by side.
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
}

export class VipWatch {
  private readonly probe: ChildProcess;
  private readonly watchers: ChildProcess[] = [];
  private readonly readyz: { at: number; ok: boolean }[] = [];
  private readonly holders = new Map<string, boolean>();
  private holdersMax = 0;
  private readonly history: string[][] = [];

  constructor(options: { prober: LabNode; controlPlanes: LabNode[]; vip: string; port: number; maxSeconds: number }) {
    const { prober, controlPlanes, vip, port, maxSeconds } = options;
    this.probe = prober.spawn('node', [
      `${projectRoot}/test/lab/endpoint-probe.ts`,
      `https://${vip}:${port}/readyz`,
      '/etc/kubernetes/pki/ca.crt',
      '100',
      String(maxSeconds * 10),
    ]);
    lines(this.probe, (line) => {
      const [at, ok] = line.split(' ');
      this.readyz.push({ at: Number(at), ok: ok === '1' });
    });
    const samples = maxSeconds * 20;
    for (const node of controlPlanes) {
      // One bounded loop per control plane: 20 samples a second of whether eth0 carries the VIP.
      const watcher = node.spawn('sh', [
        '-c',
        `i=0; while [ $i -lt ${samples} ]; do if ip -4 -o addr show dev eth0 | grep -q " ${vip}/"; then echo 1; else echo 0; fi; i=$((i+1)); sleep 0.05; done`,
      ]);
      lines(watcher, (line) => {
        this.holders.set(node.name, line === '1');
        // Until every control plane has answered once, "nobody has it" would only mean "not asked yet".
        if (this.holders.size < controlPlanes.length) return;
        const now = [...this.holders].filter(([, held]) => held).map(([name]) => name);
        this.holdersMax = Math.max(this.holdersMax, now.length);
        const last = this.history.at(-1);
        if (!last || last.join(',') !== now.join(',')) this.history.push(now);
      });
      this.watchers.push(watcher);
    }
  }

  /** Waits until the latest probe of /readyz answered, at most `seconds`; true when it did. */
  async recovered(seconds: number): Promise<boolean> {
    for (let i = 0; i < seconds * 10; i++) {
      if (this.readyz.at(-1)?.ok === true) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  stop(): VipWatchResult {
    this.probe.kill('SIGKILL');
    for (const w of this.watchers) w.kill('SIGKILL');
    let longest = 0;
    let downSince: number | undefined;
    for (const sample of this.readyz) {
      if (!sample.ok && downSince === undefined) downSince = sample.at;
      if (sample.ok && downSince !== undefined) {
        longest = Math.max(longest, sample.at - downSince);
        downSince = undefined;
      }
    }
    const lastAt = this.readyz.at(-1)?.at;
    if (downSince !== undefined && lastAt !== undefined) longest = Math.max(longest, lastAt - downSince);
    return {
      longestGapS: Math.round(longest / 100) / 10,
      holdersMax: this.holdersMax,
      holderHistory: this.history,
      probes: this.readyz.length,
      failedProbes: this.readyz.filter((s) => !s.ok).length,
      recovered: this.readyz.at(-1)?.ok === true,
    };
  }
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
