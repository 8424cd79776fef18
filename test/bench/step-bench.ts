// `npm run bench:steps [-- --iterations N]`: the costs a node pays per step, on this machine.
// - the step runner's own overhead: a full host-prep (check, apply, re-check) and a no-op re-run on the FakeHost;
// - LocalHost.exec of `true` (process spawn, its own process group, line splitting);
// - LocalHost.writeFileAtomic when the bytes are equal (read + compare) and when they differ (temp, fsync, rename);
// - the result spool: add (fsync'd JSON file) and Ack (unlink).
// Prints p50 / p99 in milliseconds. Figures, not assertions: this machine is shared and noisy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultFakeFacts, FakeHost } from '../../agent/host/fake-host.ts';
import { LocalHost } from '../../agent/host/local-host.ts';
import { ResultSpool } from '../../agent/step-execution/result-spool.ts';
import { runStep } from '../../agent/step-execution/step-runner.ts';
import { hostPrepStep } from '../../agent/steps/host-prep.ts';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '200' } } });
const iterations = Number(values.iterations);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(name: string, n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  await fn(-1);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn(i);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  process.stdout.write(
    `${name.padEnd(44)} n=${String(n).padStart(4)}  p50 ${percentile(samples, 50).toFixed(3).padStart(8)} ms  p99 ${percentile(samples, 99).toFixed(3).padStart(8)} ms\n`,
  );
}

/** A node where every host-prep probe answers "already as wanted" except what `fresh` leaves to do. */
function preparedNode(): FakeHost {
  const host = new FakeHost({
    facts: { hostname: 'cp1' },
    files: {
      '/etc/hostname': 'cp1\n',
      '/etc/hosts': '127.0.0.1 localhost\n',
      '/etc/fstab': '/dev/sda1 / xfs defaults 0 0\n',
    },
  });
  host
    .stub('systemctl', ['list-units', '--type=swap', '--all', '--plain', '--no-legend', '--no-pager'], { stdout: '' })
    .stub('systemctl', ['is-active', 'firewalld'], { stdout: 'inactive\n', exitCode: 3 })
    .stub('modprobe', ['overlay'], { effect: (h) => h.setFile('/sys/module/overlay/refcnt', '0') })
    .stub('modprobe', ['br_netfilter'], { effect: (h) => h.setFile('/sys/module/br_netfilter/refcnt', '0') })
    .stub('sysctl', ['-p', '/etc/sysctl.d/99-kubeha.conf'], {
      effect: (h) => {
        for (const key of ['ipv4/ip_forward', 'bridge/bridge-nf-call-iptables', 'bridge/bridge-nf-call-ip6tables']) {
          h.setFile(`/proc/sys/net/${key}`, '1\n');
        }
      },
    });
  return host;
}

const params = {
  hostname: 'cp1',
  role: 'control-plane',
  nodes: Array.from({ length: 50 }, (_, i) => ({ name: `node${i}`, address: `10.0.0.${i + 1}`, role: 'worker' })),
};

const dir = mkdtempSync(join(tmpdir(), 'kubeha-step-bench-'));
try {
  process.stdout.write(`kubeha step costs, ${iterations} iterations each\n`);
  await measure('runner: host-prep first run (FakeHost)', iterations, async () => {
    const result = await runStep(hostPrepStep, params, { host: preparedNode() });
    if (!result.changed) throw new Error('expected changes');
  });
  const steady = preparedNode();
  await runStep(hostPrepStep, params, { host: steady });
  await measure('runner: host-prep no-op re-run (FakeHost)', iterations, async () => {
    const result = await runStep(hostPrepStep, params, { host: steady });
    if (result.changed) throw new Error('expected no change');
  });

  const local = new LocalHost({ facts: async () => defaultFakeFacts });
  await measure('LocalHost.exec true', Math.min(iterations, 100), () => local.exec('true', []));
  const file = join(dir, 'etc', 'bench.conf');
  await local.writeFileAtomic(file, 'same\n', 0o644);
  await measure('LocalHost.writeFileAtomic, bytes equal', iterations, () =>
    local.writeFileAtomic(file, 'same\n', 0o644),
  );
  await measure('LocalHost.writeFileAtomic, bytes differ', iterations, (i) =>
    local.writeFileAtomic(file, `value ${i}\n`, 0o644),
  );

  const spool = new ResultSpool(join(dir, 'spool'));
  const event = (i: number) => ({
    runId: 'run-1',
    stepId: `host-prep/node${i}`,
    attempt: 1,
    atMs: Date.now(),
    type: 'finished' as const,
    result: { outcome: 'succeeded' as const, changed: true, outputs: {}, paramsChecksum: 'sha256:0', changes: ['x'] },
  });
  await measure('spool add (fsync)', iterations, async (i) => spool.add(event(i)));
  await measure('spool ack (unlink)', iterations, async (i) => spool.remove(event(i)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
