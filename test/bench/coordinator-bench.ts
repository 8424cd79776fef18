/**
 * npm run bench:coordinator [-- --json] [--agents N] [--workers N] [--only abc] [--profile DIR] [--heap-snapshot DIR]
 *   [--trace] [--sim-processes N]
 *
 * (a) N simulated agents (default 5,000) enrolled and connected, heartbeating every 5 s: the coordinator's RSS and
 *     CPU, measured on the coordinator as a child process (targets: RSS <= 600 MB, CPU <= 15 % of one core).
 * (b) a deploy of 3 control planes + W workers (default 1,000) with fixed simulated step times: makespan against the
 *     DAG's critical path (target: within 2%).
 * (c) the same steps on nodes of uneven speed: our DAG's measured makespan against a barrier per phase (every
 *     node waits for the slowest at each phase, the way playbook-based installers run), with the ratio.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseClusterSpec } from '../../coordinator/cluster-spec/parse-cluster-spec.ts';
import { criticalPath } from '../../coordinator/plan/critical-path.ts';
import { planRun } from '../../coordinator/plan/plan-run.ts';
import type { PlannedStep } from '../../coordinator/plan/run-plan.ts';
import {
  type CoordinatorProcess,
  enrollWithCoordinatorProcess,
  startCoordinatorProcess,
} from '../sim/coordinator-process.ts';
import type { SimExecution } from '../sim/sim-agent.ts';
import { type SimNode, simClusterSpec } from '../sim/sim-fleet.ts';
import {
  childProcessFleet,
  inProcessFleet,
  type SimFleetHandle,
  type SimStepTimes,
  timedSimScript,
} from '../sim/sim-fleet-process.ts';
import { freePort } from '../support/free-port.ts';
import { waitFor } from '../support/wait-for.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    agents: { type: 'string' },
    workers: { type: 'string' },
    'measure-seconds': { type: 'string' },
    only: { type: 'string' },
    profile: { type: 'string' },
    'heap-snapshot': { type: 'string' },
    trace: { type: 'boolean' },
    'node-args': { type: 'string' },
    'sim-processes': { type: 'string' },
  },
});
const agentCount = Number(values.agents ?? 5000);
const workerCount = Number(values.workers ?? 1000);
const measureSeconds = Number(values['measure-seconds'] ?? 15);
/**
 * How many processes run the simulated agents of (b) and (c): real agents each have their own host, and one process
 * decoding a whole wave of RunSteps measures that process rather than the coordinator. 1: all in the bench's own
 * process, as before. (a) always runs them in the bench's process.
 */
const simProcesses = Math.max(1, Number(values['sim-processes'] ?? 1));
/** The V8 flags packaging/wrappers/kubeha-coordinator runs the coordinator with (keep the two the same). */
const coordinatorNodeArgs = (values['node-args'] ?? '--max-semi-space-size=1 --optimize-for-size')
  .split(' ')
  .filter(Boolean);
// ...and the allocator setting it exports unless the environment has one (as the wrapper does), for the children
// started from here on (the coordinator, and the agents' processes of --sim-processes, whose memory is not measured).
process.env.MALLOC_MMAP_THRESHOLD_ ??= '16384';
/** Agents started at a time; the next wave starts once these are connected. */
const connectWave = 250;
const log = (text: string) => {
  if (!values.json) process.stderr.write(`${text}\n`);
};

/** Fixed simulated step times (ms): the shape of a real deploy, compressed. */
const stepMs: Record<string, number> = {
  preflight: 1000,
  'host-prep': 2000,
  'container-runtime': 2000,
  'kube-packages': 2000,
  'load-balancer': 1000,
  'kubeadm-init': 3000,
  cni: 1000,
  'kubeadm-join': 2000,
  verify: 1000,
  'join-credentials': 50,
  'cross-node-checks': 0,
};

interface RunSummary {
  id: string;
  state: string;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

interface Fixture {
  coordinator: CoordinatorProcess;
  agents: SimFleetHandle;
  dataDir: string;
}

/** Step times for the simulated agents (ms per kind, a speed per node), and how many processes run them. */
interface FleetTiming extends SimStepTimes {
  processes: number;
}

async function startFleet(nodes: SimNode[], timing: FleetTiming): Promise<Fixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kubeha-bench-'));
  const ports = { grpcPort: await freePort(), apiPort: await freePort() };
  const coordinator = await startCoordinatorProcess({
    dataDir,
    ...ports,
    logLevel: 'warn',
    nodeArgs: [
      ...coordinatorNodeArgs,
      ...(values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : []),
      ...(values['heap-snapshot']
        ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${values['heap-snapshot']}`]
        : []),
    ],
  });
  const executions: SimExecution[] = [];
  const started = Date.now();
  const heartbeatMs = 5_000;
  const enrolled = await enrollWithCoordinatorProcess(coordinator, {
    nodes,
    executions,
    script: timedSimScript(timing),
    heartbeatMs,
    parallel: 32,
  });
  log(`  enrolled ${enrolled.length} agents in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  // Agents come up in waves, as hosts do: five thousand TLS handshakes at once on two cores time out and retry.
  const agents =
    timing.processes > 1
      ? childProcessFleet(enrolled, {
          processes: timing.processes,
          nodeOf: (name) => byName.get(name)!,
          heartbeatMs,
          delays: timing.delays,
          defaultDelayMs: timing.defaultDelayMs,
          speeds: timing.speeds,
          connectWave,
        })
      : inProcessFleet(enrolled, executions, connectWave);
  await agents.connectAll();
  log(`  ${agents.size} agents connected${timing.processes > 1 ? ` (in ${timing.processes} processes)` : ''}`);
  return { coordinator, agents, dataDir };
}

async function stopFleet(f: Fixture): Promise<void> {
  await f.agents.stop();
  f.coordinator.child.kill('SIGTERM');
  await Promise.race([f.coordinator.exited, new Promise((r) => setTimeout(r, 5_000))]);
  f.coordinator.child.kill('SIGKILL');
  rmSync(f.dataDir, { recursive: true, force: true });
}

function procSample(pid: number): { cpuTicks: number; rssKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuTicks, rssKb };
}

/** The coordinator's own memory figures from its /metrics: what of its RSS is the JavaScript heap. */
async function memoryBreakdown(
  fleet: Fixture,
): Promise<{ heap_used_mb: number; heap_total_mb: number; external_mb: number }> {
  const token = readFileSync(join(fleet.dataDir, 'admin-token'), 'utf8').trim();
  const url = `http://127.0.0.1:${fleet.coordinator.options.apiPort}/metrics`;
  const text = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).text();
  const mb = (name: string) =>
    round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) / 2 ** 20);
  return {
    heap_used_mb: mb('nodejs_heap_size_used_bytes'),
    heap_total_mb: mb('nodejs_heap_size_total_bytes'),
    external_mb: mb('nodejs_external_memory_bytes'),
  };
}

/** Asks the coordinator for a heap snapshot (written into `dir`) and waits until it is complete. */
async function heapSnapshot(pid: number, dir: string): Promise<void> {
  const count = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).length;
  const before = count();
  process.kill(pid, 'SIGUSR2');
  await waitFor('the heap snapshot', () => count() > before || undefined, 300_000, 500);
  // The file appears when the snapshot starts; it is complete once its size stops changing.
  let size = -1;
  await waitFor(
    'the heap snapshot to be written',
    () => {
      const newest = readdirSync(dir)
        .filter((f) => f.endsWith('.heapsnapshot'))
        .map((f) => statSync(join(dir, f)))
        .sort((x, y) => y.mtimeMs - x.mtimeMs)[0];
      const done = newest !== undefined && newest.size === size && newest.size > 0;
      size = newest?.size ?? -1;
      return done || undefined;
    },
    300_000,
    2_000,
  );
  log(`  heap snapshot written to ${dir}`);
}

async function benchAgents(): Promise<{
  agents: number;
  rss_mb: number;
  cpu_percent: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
}> {
  log(`(a) ${agentCount} simulated agents with heartbeats`);
  const { nodes } = simClusterSpec({ name: 'bench-a', controlPlanes: 0, workers: agentCount });
  const fleet = await startFleet(nodes, {
    delays: {},
    defaultDelayMs: 20,
    speeds: {},
    processes: 1,
  });
  try {
    const pid = fleet.coordinator.child.pid!;
    // Let the connection storm settle before measuring the steady state.
    await new Promise((r) => setTimeout(r, 5_000));
    const before = procSample(pid);
    const t0 = Date.now();
    let peakRss = before.rssKb;
    while (Date.now() - t0 < measureSeconds * 1000) {
      await new Promise((r) => setTimeout(r, 1_000));
      peakRss = Math.max(peakRss, procSample(pid).rssKb);
    }
    const after = procSample(pid);
    const seconds = (Date.now() - t0) / 1000;
    if (values['heap-snapshot']) await heapSnapshot(pid, values['heap-snapshot']);
    const { agents } = await fleet.coordinator.api.request<{ agents: { connected: boolean }[] }>('GET', '/v1/agents');
    const connected = agents.filter((a) => a.connected).length;
    const cpuPercent = ((after.cpuTicks - before.cpuTicks) / 100 / seconds) * 100;
    return {
      agents: connected,
      rss_mb: round(peakRss / 1024),
      cpu_percent: round(cpuPercent),
      ...(await memoryBreakdown(fleet)),
    };
  } finally {
    await stopFleet(fleet);
  }
}

function round(n: number, digits = 2): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}

async function deployRun(
  name: string,
  workers: number,
  speedOf: (node: string) => number,
): Promise<{ makespanS: number; durationOf: (step: PlannedStep) => number; barrierS: number }> {
  const { spec, nodes } = simClusterSpec({ name, controlPlanes: 3, workers, concurrency: Math.max(1, workers) });
  const parsed = parseClusterSpec(spec);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const plan = planRun('deploy', parsed.spec);
  const credentialMs = stepMs['join-credentials']!;
  const durationOf = (step: PlannedStep) =>
    ((stepMs[step.kind] ?? 0) * (step.node === 'coordinator' ? 1 : speedOf(step.node)) +
      // Each join waits for its own token, made just before it.
      (step.kind === 'kubeadm-join' ? credentialMs * speedOf('cp1') : 0)) /
    1000;
  const fleet = await startFleet(nodes, {
    delays: stepMs,
    defaultDelayMs: 10,
    speeds: Object.fromEntries(nodes.map((n) => [n.name, speedOf(n.name)])),
    processes: simProcesses,
  });
  try {
    await fleet.coordinator.api.request('POST', '/v1/clusters', spec);
    const { id } = await fleet.coordinator.api.request<{ id: string }>('POST', `/v1/clusters/${name}/runs`, {
      kind: 'deploy',
    });
    // The run list, not the run with its thousands of steps: polling must not load the coordinator it measures.
    const run = await waitFor(
      'the deploy to finish',
      async () => {
        const { runs } = await fleet.coordinator.api.request<{ runs: RunSummary[] }>('GET', `/v1/runs?cluster=${name}`);
        const r = runs.find((x) => x.id === id);
        return r && r.state !== 'running' ? r : undefined;
      },
      600_000,
      500,
    );
    if (run.state !== 'succeeded') throw new Error(`the deploy ${run.state}: ${run.error}`);
    const makespanS = (Date.parse(run.finishedAt!) - Date.parse(run.createdAt)) / 1000;
    if (values.trace) {
      const detail = await fleet.coordinator.api.request<{
        steps: { id: string; node: string; dispatchedAt: string | null; finishedAt: string | null }[];
      }>('GET', `/v1/runs/${id}`);
      const t0 = Date.parse(run.createdAt);
      const executions = await fleet.agents.executions();
      for (const kind of ['preflight', 'host-prep', 'container-runtime']) {
        const received = executions.filter((e) => e.kind === kind).map((e) => (e.startedAt - t0) / 1000);
        log(
          `    ${kind} received by the agents from ${Math.min(...received).toFixed(2)} to ${Math.max(...received).toFixed(2)} s`,
        );
      }
      // The control planes' and the coordinator's steps, and two workers' (not the credentials of every worker).
      const traced = (id: string) => !/-token\/w\d+/.test(id) || /-token\/w(1|1000)(\/|$)/.test(id);
      for (const s of detail.steps.filter(
        (x) => ['cp1', 'cp2', 'cp3', 'coordinator', 'w1', 'w1000'].includes(x.node) && traced(x.id),
      )) {
        const at = (t: string | null) => (t ? ((Date.parse(t) - t0) / 1000).toFixed(2) : '-');
        const sim = executions.find((e) => e.stepId === s.id);
        const simAt = (t: number | null | undefined) => (t ? ((t - t0) / 1000).toFixed(2) : '-');
        log(
          `    ${s.id.padEnd(48)} ${at(s.dispatchedAt).padStart(7)} ${simAt(sim?.startedAt).padStart(7)} ${simAt(sim?.finishedAt).padStart(7)} ${at(s.finishedAt).padStart(7)}`,
        );
      }
    }
    // A barrier per phase: every step of a phase starts when the slowest step of the previous phase has finished.
    const phases = new Map<string, number>();
    const order: string[] = [];
    for (const step of plan.steps) {
      const phase = step.phase === 'join-control-plane' ? `${step.phase}/${step.node}` : step.phase;
      if (!phases.has(phase)) order.push(phase);
      phases.set(phase, Math.max(phases.get(phase) ?? 0, durationOf(step)));
    }
    const barrierS = order.reduce((sum, phase) => sum + phases.get(phase)!, 0);
    return { makespanS, durationOf, barrierS };
  } finally {
    await stopFleet(fleet);
  }
}

async function benchCriticalPath() {
  log(`(b) 3 control planes + ${workerCount} workers, fixed step times`);
  const { spec } = simClusterSpec({
    name: 'bench-b',
    controlPlanes: 3,
    workers: workerCount,
    concurrency: workerCount,
  });
  const parsed = parseClusterSpec(spec);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const result = await deployRun('bench-b', workerCount, () => 1);
  const critical = criticalPath(planRun('deploy', parsed.spec), result.durationOf);
  return {
    makespan_s: round(result.makespanS),
    critical_path_s: round(critical),
    overhead_percent: round(((result.makespanS - critical) / critical) * 100),
  };
}

/** Deterministic speeds between 0.5x and 2.5x per node (a seeded LCG). */
function unevenSpeeds(nodes: number): (node: string) => number {
  const speeds = new Map<string, number>();
  let seed = 42;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const names = ['cp1', 'cp2', 'cp3', ...Array.from({ length: nodes }, (_, i) => `w${i + 1}`)];
  for (const name of names) speeds.set(name, 0.5 + 2 * next());
  return (node) => speeds.get(node) ?? 1;
}

async function benchUneven() {
  const workers = Math.min(workerCount, 50);
  log(`(c) 3 control planes + ${workers} workers of uneven speed: DAG vs a barrier per phase`);
  const result = await deployRun('bench-c', workers, unevenSpeeds(workers));
  return {
    uneven_makespan_s: round(result.makespanS),
    barrier_makespan_s: round(result.barrierS),
    dag_vs_barrier_ratio: round(result.makespanS / result.barrierS, 3),
  };
}

const only = values.only ?? 'abc';
const a = only.includes('a')
  ? await benchAgents()
  : { agents: 0, rss_mb: 0, cpu_percent: 0, heap_used_mb: 0, heap_total_mb: 0, external_mb: 0 };
const b = only.includes('b') ? await benchCriticalPath() : { makespan_s: 0, critical_path_s: 0, overhead_percent: 0 };
const c = only.includes('c')
  ? await benchUneven()
  : { uneven_makespan_s: 0, barrier_makespan_s: 0, dag_vs_barrier_ratio: 0 };
const figures = { ...a, ...b, ...c };
if (values.json) {
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} else {
  process.stdout.write(
    [
      `(a) agents connected:        ${a.agents}`,
      `    coordinator RSS:         ${a.rss_mb} MB (target <= 600 at 5,000 agents)`,
      `    coordinator CPU:         ${a.cpu_percent} % of one core (heartbeats every 5 s; target <= 15)`,
      `    of which JS heap:        ${a.heap_used_mb} MB used of ${a.heap_total_mb} MB; external ${a.external_mb} MB (the rest: TLS and HTTP/2 state, code)`,
      `    coordinator node flags:  ${coordinatorNodeArgs.join(' ') || '(none)'}`,
      `    glibc mmap threshold:    ${process.env.MALLOC_MMAP_THRESHOLD_} bytes`,
      `(b) makespan:                ${b.makespan_s} s (3 control planes + ${workerCount} workers)`,
      `    DAG critical path:       ${b.critical_path_s} s`,
      `    overhead:                ${b.overhead_percent} % (target <= 2)`,
      `(c) DAG makespan, uneven:    ${c.uneven_makespan_s} s`,
      `    barrier-per-phase:       ${c.barrier_makespan_s} s`,
      `    DAG / barrier:           ${c.dag_vs_barrier_ratio}`,
      '',
    ].join('\n'),
  );
}
process.exit(0);
