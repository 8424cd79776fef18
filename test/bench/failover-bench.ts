// npm run bench:failover [-- --json] [-- --trials N] [-- --mode keepalived]
// Time from killing the VIP holder's LB tier (HAProxy in mode haproxy-keepalived, the apiserver in mode keepalived)
// to the VIP answering again from another node, in network namespaces with real keepalived: our defaults against
// the source article's settings, in the same run. Needs root, keepalived, haproxy, iproute2 and curl.
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
  },
});
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
  const lab = new VrrpLab({ mode, settings: oursSettings, tag: 'bench' });
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
        '20',
        '250',
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
        const now = await lab.holders();
        progress(
          `  ${settings.label} trial ${i + 1}/${trials}: ${holder.name} -> ${now.join(',') || '?'} in ${seconds.toFixed(3)} s`,
        );
        lab.restoreTier(holder);
      }
      return results;
    };

    progress(`bench:failover: mode ${mode}, ${trials} trials each; VIP ${labVip}, 3 nodes in network namespaces`);
    const ours = summary(await runTrials(oursSettings));
    const oursSplitBrain = sampler.splitBrain().length;
    await lab.restartKeepalived(articleSettings);
    const article = summary(await runTrials(articleSettings));
    await sampler.stop();
    // The article's settings preempt: the recovered node takes the VIP back, a second move with a brief overlap.
    const splitBrain = { ours: oursSplitBrain, article: sampler.splitBrain().length - oursSplitBrain };
    const ratio = Math.round((article.median_s / ours.median_s) * 10) / 10;

    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ours, article, ratio, mode, split_brain_samples: splitBrain })}\n`);
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
