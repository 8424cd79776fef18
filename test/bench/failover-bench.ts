// npm run bench:failover [-- --json] [-- --trials N] [-- --mode keepalived] [-- --soak-minutes N]
// Time from killing the VIP holder's LB tier (HAProxy in mode haproxy-keepalived, the apiserver in mode keepalived)
// to the VIP answering again from another node, in network namespaces with real keepalived: our defaults against
// the source article's settings, in the same run. Then the cost of our timings: a soak with every node's CPU
// saturated and every apiserver slow but healthy, in which the VIP must not move (--soak-minutes 0 skips it).
// Needs root, keepalived, haproxy, iproute2 and curl.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { canRunNetnsLab } from '../netns/netns-sandbox.ts';
import {
  articleSettings,
  HolderSampler,
  type LabMode,
  labVip,
  oursSettings,
  VrrpLab,
  type VrrpSettings,
} from '../netns/vrrp-lab.ts';

interface ProbeLine {
  start: number;
  end: number;
  ok: boolean;
}

interface Soak {
  minutes: number;
  /** Holder changes: 0 when the timings do not flap. The larger of the two counts below. */
  moves: number;
  keepalived_master_or_fault_entries: number;
  sampled_holder_changes: number;
  samples: number;
  holder_samples_without_one_holder: number;
  client_requests: number;
  client_failures: number;
  client_p50_ms: number;
  client_p99_ms: number;
  load_average_1m: number;
}

interface Summary {
  median_s: number;
  max_s: number;
  trials: number;
  samples_s: number[];
}

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    trials: { type: 'string', default: '5' },
    mode: { type: 'string', default: 'haproxy-keepalived' },
    'soak-minutes': { type: 'string', default: '1' },
    'soak-delay-ms': { type: 'string', default: '300' },
    /** Prints, per trial, keepalived's state changes in ms after the kill: where the time goes. */
    trace: { type: 'boolean', default: false },
  },
});
const soakMinutes = Number(values['soak-minutes']);
const soakDelayMs = Number(values['soak-delay-ms']);
if (!(soakMinutes >= 0 && soakMinutes <= 120)) throw new Error('--soak-minutes: expected 0..120 (0 skips the soak)');
if (!(Number.isInteger(soakDelayMs) && soakDelayMs >= 0 && soakDelayMs <= 900)) {
  throw new Error('--soak-delay-ms: expected 0..900 (the agent probe times out at 1000 ms)');
}
const trials = Number(values.trials);
const mode = values.mode as LabMode;
if (!Number.isInteger(trials) || trials < 1 || trials > 50) throw new Error('--trials: expected 1..50');
if (mode !== 'haproxy-keepalived' && mode !== 'keepalived') throw new Error('--mode: haproxy-keepalived | keepalived');

const progress = (line: string) => {
  if (!values.json) process.stderr.write(`${line}\n`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function summary(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    median_s: round(median),
    max_s: round(sorted.at(-1)!),
    trials: samples.length,
    samples_s: samples.map(round),
  };
}

async function waitUntil(what: string, test: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await test()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function main(): Promise<void> {
  const can = await canRunNetnsLab();
  if (!can.ok) throw new Error(`bench:failover ${can.reason}`);
  const events: { t: number; line: string }[] = [];
  const lab = new VrrpLab({
    mode,
    settings: oursSettings,
    tag: 'bench',
    // keepalived's own account of its state changes: the soak counts them, --trace prints them.
    log: (line: string) => {
      if (/keepalived: .*(Entering|tracked file|VRRP_Script|priority 0)/.test(line))
        events.push({ t: Date.now(), line });
    },
  });
  const probes: ProbeLine[] = [];
  const sampler = new HolderSampler(lab, 100);
  const onSignal = () => void lab.close().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await lab.start();
    lab.sandbox.spawn(
      lab.client,
      process.execPath,
      [
        fileURLToPath(new URL('../netns/vip-prober-main.ts', import.meta.url)),
        `https://${labVip}:${lab.tierPort}/readyz`,
        '25',
        '1000',
      ],
      (line) => {
        if (line.startsWith('{')) probes.push(JSON.parse(line) as ProbeLine);
      },
    );
    sampler.start();

    const lastProbeOk = () => probes.at(-1)?.ok === true;
    const allAgentsHealthy = async () =>
      (await Promise.all(lab.nodes.map((n) => lab.vrrpHealth(n)))).every((a) => a.status === 200);

    const runTrials = async (settings: VrrpSettings): Promise<number[]> => {
      const results: number[] = [];
      await waitUntil(
        'one VIP holder and the VIP answering',
        async () => {
          const holders = await lab.holders();
          return holders.length === 1 && lastProbeOk();
        },
        60_000,
      );
      for (let i = 0; i < trials; i++) {
        // Every node healthy and out of FAULT (rise x interval), the VIP answering.
        await waitUntil('every agent healthy', allAgentsHealthy, 60_000);
        await sleep((settings.checkRise + 1) * settings.checkIntervalS * 1000);
        if (settings.preempt) {
          await waitUntil(
            'the highest priority to hold the VIP again',
            async () => (await lab.holders())[0] === 'n1',
            60_000,
          );
          await sleep(1_000);
        }
        await waitUntil('the VIP answering', async () => (await lab.holders()).length === 1 && lastProbeOk(), 60_000);
        const holder = lab.node((await lab.holders())[0]!);
        const killedAt = Date.now();
        await lab.killTier(holder);
        const deadAt = Date.now();
        let answered: ProbeLine | undefined;
        await waitUntil(
          'the VIP to answer from another node',
          () => {
            answered = probes.find((p) => p.ok && p.start >= deadAt);
            return answered !== undefined;
          },
          90_000,
        );
        const seconds = (answered!.end - killedAt) / 1000;
        results.push(seconds);
        if (values.trace) {
          await sleep(300);
          for (const e of events.filter((e) => e.t >= killedAt && e.t <= answered!.end + 300)) {
            progress(`    +${e.t - killedAt} ms ${e.line}`);
          }
          progress(`    +${deadAt - killedAt} ms tier dead; +${answered!.start - killedAt} ms first good request sent`);
        }
        const now = await lab.holders();
        progress(
          `  ${settings.label} trial ${i + 1}/${trials}: ${holder.name} -> ${now.join(',') || '?'} in ${seconds.toFixed(3)} s`,
        );
        lab.restoreTier(holder);
      }
      return results;
    };

    /**
     * Our settings under stress: every node's CPU saturated (busy loops in each namespace, as many per node as the
     * machine has cores) and every apiserver answering its health paths `soakDelayMs` late. Nothing fails, so any
     * change of holder is a spurious move.
     */
    const runSoak = async (): Promise<Soak> => {
      await waitUntil('every agent healthy', allAgentsHealthy, 60_000);
      await waitUntil('the VIP answering', async () => (await lab.holders()).length === 1 && lastProbeOk(), 60_000);
      await sleep((oursSettings.checkRise + 1) * oursSettings.checkIntervalS * 1000);
      const holder = (await lab.holders())[0]!;
      const hogsPerNode = availableParallelism();
      progress(
        `  soak: ${soakMinutes} min, ${hogsPerNode} busy loops in each of the 3 nodes, apiservers ${soakDelayMs} ms slow, VIP on ${holder}`,
      );
      const fromSample = sampler.samples.length;
      const fromProbe = probes.length;
      const fromEvent = events.length;
      lab.setApiserverDelay(soakDelayMs);
      const stopLoad = lab.startCpuLoad(hogsPerNode);
      const startedAt = Date.now();
      try {
        while (Date.now() - startedAt < soakMinutes * 60_000) {
          await sleep(Math.min(10_000, soakMinutes * 60_000 - (Date.now() - startedAt)));
          progress(
            `  soak: ${Math.round((Date.now() - startedAt) / 1000)} s, ${sampler.moves(fromSample)} moves, holders now ${(await lab.holders()).join(',') || 'none'}`,
          );
        }
      } finally {
        await stopLoad();
        lab.setApiserverDelay(0);
      }
      const during = probes.slice(fromProbe);
      const answered = during.filter((p) => p.ok);
      const latencies = answered.map((p) => p.end - p.start).sort((a, b) => a - b);
      const load = Number((await readFile('/proc/loadavg', 'utf8')).split(' ')[0]);
      const stateChanges = events.slice(fromEvent).filter((e) => /Entering (MASTER|FAULT)/.test(e.line));
      for (const change of stateChanges) progress(`  soak: keepalived ${change.line}`);
      return {
        minutes: soakMinutes,
        // A sample every 100 ms can miss a short excursion on a saturated machine; keepalived's log cannot.
        moves: Math.max(sampler.moves(fromSample), stateChanges.length),
        keepalived_master_or_fault_entries: stateChanges.length,
        sampled_holder_changes: sampler.moves(fromSample),
        samples: sampler.samples.length - fromSample,
        holder_samples_without_one_holder: sampler.samples.slice(fromSample).filter((s) => s.holders.length !== 1)
          .length,
        client_requests: during.length,
        client_failures: during.length - answered.length,
        client_p50_ms: latencies[Math.floor(latencies.length / 2)] ?? -1,
        client_p99_ms: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? -1,
        load_average_1m: load,
      };
    };

    progress(`bench:failover: mode ${mode}, ${trials} trials each; VIP ${labVip}, 3 nodes in network namespaces`);
    const ours = summary(await runTrials(oursSettings));
    const oursSplitBrain = sampler.splitBrain().length;
    const soak = soakMinutes > 0 ? await runSoak() : undefined;
    await lab.restartKeepalived(articleSettings);
    const article = summary(await runTrials(articleSettings));
    await sampler.stop();
    // The article's settings preempt: the recovered node takes the VIP back, a second move with a brief overlap.
    const splitBrain = { ours: oursSplitBrain, article: sampler.splitBrain().length - oursSplitBrain };
    const ratio = Math.round((article.median_s / ours.median_s) * 10) / 10;

    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ ours, article, ratio, mode, split_brain_samples: splitBrain, soak_moves: soak?.moves ?? null, soak: soak ?? null })}\n`,
      );
      return;
    }
    const describe = (s: VrrpSettings) =>
      `interval ${s.checkIntervalS}s fall ${s.checkFall} weight ${s.checkWeight} advert_int ${s.advertIntS} prio ${s.priorities.join('/')}${s.preempt ? '' : ' nopreempt'}${s.agentTrackFile ? ' +agent track_file' : ''}`;
    const rows = [
      ['settings', 'keepalived', 'median s', 'max s', 'trials (s)'],
      ['ours', describe(oursSettings), ours.median_s.toFixed(3), ours.max_s.toFixed(3), ours.samples_s.join(' ')],
      [
        'article',
        describe(articleSettings),
        article.median_s.toFixed(3),
        article.max_s.toFixed(3),
        article.samples_s.join(' '),
      ],
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
    process.stdout.write(
      [
        `VIP failover after killing the holder's ${mode === 'haproxy-keepalived' ? 'HAProxy' : 'apiserver'} (mode ${mode})`,
        line(rows[0]!),
        `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
        line(rows[1]!),
        line(rows[2]!),
        `ratio (article median / ours median): ${ratio}x`,
        `samples (every 100 ms) with two VIP holders: ours ${splitBrain.ours}, article ${splitBrain.article}`,
        soak
          ? `soak (ours, ${soak.minutes} min, CPU saturated, apiservers ${soakDelayMs} ms slow): VIP moves ${soak.moves} ` +
            `(${soak.samples} samples, ${soak.holder_samples_without_one_holder} without exactly one holder); ` +
            `client ${soak.client_requests} requests, ${soak.client_failures} failed, p50 ${soak.client_p50_ms} ms, ` +
            `p99 ${soak.client_p99_ms} ms; load average ${soak.load_average_1m}`
          : 'soak skipped (--soak-minutes 0)',
        '',
      ].join('\n'),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await sampler.stop();
    await lab.close();
  }
}

await main();
