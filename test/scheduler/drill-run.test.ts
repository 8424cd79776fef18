import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { caCertHash } from '../../common/ca-hash.ts';
import { runEventsStream } from '../../coordinator/cli/run-events-stream.ts';
import type { FailoverDrillReport } from '../../coordinator/drill/failover-drill.ts';
import { createReadyzProbe } from '../../coordinator/drill/readyz-probe.ts';
import { type CoordinatorProcess, startCoordinatorProcess } from '../sim/coordinator-process.ts';
import type { SimAgent, SimBehaviour, SimExecution, SimStep } from '../sim/sim-agent.ts';
import { type RunView, type SimCoordinator, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { createEnrollToken, enrollSimAgents, simClusterSpec, simScript, stopSimFleet } from '../sim/sim-fleet.ts';
import { freePort } from '../support/free-port.ts';
import { makeTestPki } from '../support/test-pki.ts';
import { waitFor } from '../support/wait-for.ts';

// The cluster's endpoint is served by a local HTTPS server: /readyz answers 200 exactly when one simulated agent
// holds the VIP. Its certificate stands in for the cluster CA, which the coordinator learns from the kubeconfig
// the (simulated) verify step reports.
const dir = mkdtempSync(join(tmpdir(), 'kubeha-drill-'));
let server: Server;
let port = 0;
let caPem = '';
let agents: SimAgent[] = [];
let sim: SimCoordinator | undefined;
const timers: NodeJS.Timeout[] = [];
const cliMain = join(import.meta.dirname, '..', '..', 'coordinator', 'cli', 'main.ts');
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  const pki = await makeTestPki();
  caPem = pki.caPem;
  server = createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    const up = req.url === '/readyz' && agents.filter((a) => a.holdsVip).length === 1;
    res.writeHead(up ? 200 : 503).end(up ? 'ok' : 'no endpoint');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const t of timers.splice(0)) clearTimeout(t);
  await stopSimFleet(agents, sim);
  sim = undefined;
});

const later = (ms: number, fn: () => void) => timers.push(setTimeout(fn, ms));
const node = (name: string) => agents.find((a) => a.options.node === name)!;

interface DrillWorld {
  probed: { endpoint: string; caPem: string | undefined }[];
  executions: SimExecution[];
}

/**
 * A deployed 3-control-plane cluster whose cp2 holds the VIP. `actionBehaviour` decides what a failover-drill-action
 * does to the simulated VIP; the drill's timings are short and its /readyz probe goes to the local server.
 */
async function deployedCluster(
  name: string,
  actionBehaviour: (step: SimStep) => Partial<SimBehaviour> | undefined,
): Promise<DrillWorld> {
  const world: DrillWorld = { probed: [], executions: [] };
  sim = await startSimCoordinator({
    scheduler: {
      drill: {
        timing: { probeIntervalMs: 50, observeMs: 1_500, recoverTimeoutMs: 5_000, settleMs: 400, restoreAttempts: 2 },
        pollMs: 20,
        probeFor: (endpoint, ca) => {
          world.probed.push({ endpoint, caPem: ca });
          return createReadyzProbe({ endpoint: `127.0.0.1:${port}`, caPem: ca, timeoutMs: 500 });
        },
      },
    },
  });
  const { spec, nodes } = simClusterSpec({ name, controlPlanes: 3, workers: 0 });
  const kubeconfig = `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}\n    server: https://10.10.255.100:16443\n  name: ${name}\n`;
  const { token } = await createEnrollToken(sim.api, nodes.length);
  agents = await enrollSimAgents({
    coordinator: sim.grpcAddress,
    caPem: sim.coordinator.caCertificatePem,
    token,
    approveWith: sim.api,
    nodes,
    executions: world.executions,
    heartbeatMs: 100,
    script: simScript({ default: 5 }, (step) =>
      step.kind === 'kubeadm-init'
        ? { outputs: { caCertHash: caCertHash(caPem), caCertPem: caPem, kubeconfig } }
        : step.kind === 'failover-drill-action'
          ? actionBehaviour(step)
          : undefined,
    ),
  });
  for (const a of agents) a.start();
  await sim.api.request('POST', '/v1/clusters', spec);
  const deploy = await sim.api.request<{ id: string }>('POST', `/v1/clusters/${name}/runs`, { kind: 'deploy' });
  expect((await waitForRunEnd(sim.api, deploy.id)).state).toBe('succeeded');
  // Once initialised, every agent is told the cluster CA that kubeadm-init reported, for its health probe.
  await waitFor(
    "the cluster CA in the agents' cluster phase",
    () => agents.every((a) => a.phases.at(-1)?.cluster_ca_pem === caPem) || undefined,
  );
  node('cp2').holdsVip = true;
  await waitFor('cp2 to be reported as the VIP holder', async () => {
    const cluster = await sim!.api.request<{ nodes: { name: string; holdsVip: boolean }[] }>(
      'GET',
      `/v1/clusters/${name}`,
    );
    return cluster.nodes.find((n) => n.name === 'cp2')?.holdsVip;
  });
  return world;
}

/** keepalived on cp2 stops (or its HAProxy check fails): cp2 drops the VIP, cp1 takes it 400 ms later; on restore cp2 takes it back. */
function vipMovesToCp1(step: SimStep): Partial<SimBehaviour> | undefined {
  if (step.params['action'] === 'stop-apiserver') return undefined;
  if (step.params['phase'] === 'apply') {
    node('cp2').holdsVip = false;
    later(400, () => {
      node('cp1').holdsVip = true;
    });
  } else {
    // Preemption: both move at once; the agents' heartbeats may report the two moves in either order.
    node('cp1').holdsVip = false;
    node('cp2').holdsVip = true;
  }
  return undefined;
}

/** Starts the drill through the API, or with `kubeha drill failover NAME` (its output returned), and waits for its end. */
async function drill(name: string, how: 'api' | 'cli' = 'api') {
  let runId: string;
  let printed = '';
  if (how === 'cli') {
    const s = sim!;
    const result = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [cliMain, '--server', s.coordinator.apiUrl, '--token', s.coordinator.adminToken, 'drill', 'failover', name],
        { timeout: 60_000, env: { ...process.env, HOME: dir } },
        (error, stdout) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout }),
      ),
    );
    printed = result.stdout;
    runId = /drill-failover run (run-[0-9a-f-]+) of/.exec(printed)?.[1] ?? '';
    expect(runId, printed).not.toBe('');
  } else {
    runId = (await sim!.api.request<{ id: string }>('POST', `/v1/clusters/${name}/runs`, { kind: 'drill-failover' }))
      .id;
  }
  const run = await waitForRunEnd(sim!.api, runId);
  const reportText = run.steps.find((s) => s.kind === 'failover-drill')?.report;
  expect(reportText).toBeDefined();
  const events: string[] = [];
  for await (const event of runEventsStream(sim!.api, runId)) events.push(event.message);
  return { run, report: JSON.parse(reportText!) as FailoverDrillReport, events, printed };
}

const actionOrder = (executions: SimExecution[]) =>
  executions
    .filter((e) => e.kind === 'failover-drill-action')
    .map((e) => `${e.node}:${e.params['action']}/${e.params['phase']}:${e.outcome}`);

describe('the drill-failover run', () => {
  it('GIVEN cp2 holds the VIP WHEN drilled THEN each action and restore runs on cp2 as a step of the run, and the report says where the VIP went, how long /readyz failed, and that it was never on two nodes', async () => {
    const world = await deployedCluster('drill-a', vipMovesToCp1);

    const { run, report, events, printed } = await drill('drill-a', 'cli');

    expect(run.state).toBe('succeeded');
    expect(report.ok).toBe(true);
    expect(report.actions.map((a) => a.action)).toEqual(['stop-apiserver', 'stop-haproxy', 'stop-keepalived']);
    const [apiserver, haproxy, keepalived] = report.actions;
    expect(apiserver).toMatchObject({ initialHolder: 'cp2', maxSimultaneousHolders: 1, readyzDowntimeMs: 0 });
    expect(apiserver!.vipMovedTo).toBeUndefined();
    for (const moved of [haproxy!, keepalived!]) {
      expect(moved).toMatchObject({ initialHolder: 'cp2', vipMovedTo: 'cp1', maxSimultaneousHolders: 1 });
      expect(moved.readyzDowntimeMs).toBeGreaterThan(0);
      expect(moved.vipAbsentMs).toBeGreaterThan(0);
      expect(moved.recoveredAfterRestoreMs).toBeDefined();
      expect(moved.finalHolders).toEqual(['cp2']);
    }
    // The actions are real agent steps, on the holder, each restored.
    expect(actionOrder(world.executions)).toEqual([
      'cp2:stop-apiserver/apply:succeeded',
      'cp2:stop-apiserver/restore:succeeded',
      'cp2:stop-haproxy/apply:succeeded',
      'cp2:stop-haproxy/restore:succeeded',
      'cp2:stop-keepalived/apply:succeeded',
      'cp2:stop-keepalived/restore:succeeded',
    ]);
    const stepStates = Object.fromEntries(run.steps.map((s) => [s.id, `${s.node}:${s.state}`]));
    expect(stepStates).toMatchObject({
      'failover-drill': 'coordinator:succeeded',
      'failover-drill/stop-haproxy/apply': 'cp2:succeeded',
      'failover-drill/stop-haproxy/restore': 'cp2:succeeded',
      'failover-drill/stop-keepalived/restore': 'cp2:succeeded',
    });
    // The probe went to the spec's endpoint, verified with the CA from the stored kubeconfig.
    expect(world.probed).toEqual([{ endpoint: '10.10.255.100:16443', caPem }]);
    expect(events).toContainEqual(expect.stringContaining('drill stop-keepalived on cp2: ok'));
    expect(events).toContainEqual(expect.stringContaining('the VIP moved from cp2 to cp1'));
    expect(events).toContainEqual(expect.stringContaining('with the cluster CA'));
    // `kubeha drill failover` prints the measured figures of each action.
    expect(printed).toContain('failover drill: ok');
    expect(printed).toContain(
      `  stop-keepalived on cp2: ok\n    /readyz outage: longest ${(keepalived!.longestOutageMs / 1000).toFixed(2)} s, ${(keepalived!.readyzDowntimeMs / 1000).toFixed(2)} s in all`,
    );
    // The holder timeline comes from the agents' own transitions: cp2, nobody for 400 ms, cp1, then cp2 again after
    // the restore (the two moves of the restore are a few ms apart, in either order).
    const order = keepalived!.holderTimeline
      .map((h) => h.holders.join('+'))
      .filter((h, i, all) => h !== '' && !h.includes('+') && all[i - 1] !== h);
    expect(order).toEqual(['cp2', 'cp1', 'cp2']);
    expect(keepalived!.holderTimeline[1]).toMatchObject({ holders: [] });
    expect(keepalived!.vipAbsentMs).toBeGreaterThanOrEqual(300);
    expect(printed).toMatch(/holders cp2 -> none -> cp1 -> /);
    expect(printed).toContain('new VIP holder: cp1; after the restore: cp2');
    expect(printed).toContain('new VIP holder: none (the VIP stayed)');
    expect(printed).not.toMatch(/max simultaneous VIP holders: [^1]/);
    expect(printed).toContain("VIP holders self-reported: each agent's own address events");
    expect(printed.match(/max simultaneous VIP holders: 1/g)).toHaveLength(3);
    expect(sim!.logs.join('')).not.toContain('the failover drill failed');
  }, 60_000);

  it('GIVEN an action that fails on the holder WHEN drilled THEN it is still restored and the run fails naming it', async () => {
    const world = await deployedCluster('drill-b', (step) =>
      step.params['action'] === 'stop-haproxy' && step.params['phase'] === 'apply'
        ? { outcome: 'fail', deterministic: true }
        : undefined,
    );

    const { run, report } = await drill('drill-b');

    expect(run.state).toBe('failed');
    expect(run.error).toContain('stop-haproxy on cp2 failed');
    expect(report.ok).toBe(false);
    const haproxy = report.actions.find((a) => a.action === 'stop-haproxy')!;
    expect(haproxy.applyError).toContain('simulated failure of failover-drill/stop-haproxy/apply');
    expect(haproxy.restoreError).toBeUndefined();
    expect(actionOrder(world.executions)).toEqual([
      'cp2:stop-apiserver/apply:succeeded',
      'cp2:stop-apiserver/restore:succeeded',
      'cp2:stop-haproxy/apply:failed',
      'cp2:stop-haproxy/restore:succeeded',
      'cp2:stop-keepalived/apply:succeeded',
      'cp2:stop-keepalived/restore:succeeded',
    ]);
  }, 60_000);

  it('GIVEN the VIP ends up on two nodes WHEN drilled THEN the report counts two holders, the action is restored and the run fails', async () => {
    const world = await deployedCluster('drill-c', (step) => {
      if (step.params['action'] !== 'stop-keepalived') return undefined;
      // A split brain: cp1 takes the VIP while cp2 keeps it, until the restore.
      node('cp1').holdsVip = step.params['phase'] === 'apply';
      return undefined;
    });

    const { run, report } = await drill('drill-c');

    expect(run.state).toBe('failed');
    const keepalived = report.actions.find((a) => a.action === 'stop-keepalived')!;
    expect(keepalived.maxSimultaneousHolders).toBe(2);
    expect(keepalived.problems.join('\n')).toContain('the VIP was on cp1 and cp2 at once');
    expect(run.error).toContain('the VIP was on cp1 and cp2 at once');
    expect(actionOrder(world.executions).slice(-2)).toEqual([
      'cp2:stop-keepalived/apply:succeeded',
      'cp2:stop-keepalived/restore:succeeded',
    ]);
  }, 60_000);

  it('GIVEN a coordinator killed while an action is applied WHEN it restarts THEN the action is restored before the drill starts over', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kubeha-drill-crash-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const ports = { grpcPort: await freePort(), apiPort: await freePort() };
    let coordinator: CoordinatorProcess = await startCoordinatorProcess({ dataDir, ...ports });
    cleanups.push(() => {
      coordinator.child.kill('SIGKILL');
    });
    const { spec, nodes } = simClusterSpec({ name: 'drill-d', controlPlanes: 3, workers: 0 });
    const executions: SimExecution[] = [];
    const { token } = await createEnrollToken(coordinator.api, nodes.length);
    agents = await enrollSimAgents({
      coordinator: `127.0.0.1:${ports.grpcPort}`,
      caPem: coordinator.caPem,
      token,
      approveWith: coordinator.api,
      nodes,
      executions,
      heartbeatMs: 100,
      script: simScript({ default: 5 }),
    });
    for (const a of agents) a.start();
    await coordinator.api.request('POST', '/v1/clusters', spec);
    const deploy = await coordinator.api.request<{ id: string }>('POST', '/v1/clusters/drill-d/runs', {
      kind: 'deploy',
    });
    expect((await waitForRunEnd(coordinator.api, deploy.id)).state).toBe('succeeded');
    node('cp2').holdsVip = true;
    await waitFor('cp2 to be reported as the VIP holder', async () => {
      const cluster = await coordinator.api.request<{ nodes: { name: string; holdsVip: boolean }[] }>(
        'GET',
        '/v1/clusters/drill-d',
      );
      return cluster.nodes.find((n) => n.name === 'cp2')?.holdsVip;
    });
    const { id } = await coordinator.api.request<{ id: string }>('POST', '/v1/clusters/drill-d/runs', {
      kind: 'drill-failover',
    });
    // The drill watches for 20 s after an action: the coordinator dies while stop-apiserver is applied.
    await waitFor('stop-apiserver applied and stored', async () => {
      const run = await coordinator.api.request<RunView>('GET', `/v1/runs/${id}`);
      return run.steps.find((s) => s.id === 'failover-drill/stop-apiserver/apply')?.state === 'succeeded';
    });
    coordinator.child.kill('SIGKILL');
    await coordinator.exited;
    coordinator = await startCoordinatorProcess({ dataDir, ...ports });

    await waitFor(
      'the drill to start over',
      () => executions.some((e) => e.stepId === 'failover-drill/stop-apiserver/apply-2' && e.outcome !== null),
      30_000,
    );
    await coordinator.api.request('POST', `/v1/runs/${id}/cancel`);
    expect(
      executions.filter((e) => e.kind === 'failover-drill-action').map((e) => `${e.node}:${e.stepId}:${e.outcome}`),
    ).toEqual([
      'cp2:failover-drill/stop-apiserver/apply:succeeded',
      'cp2:failover-drill/stop-apiserver/restore:succeeded',
      'cp2:failover-drill/stop-apiserver/apply-2:succeeded',
    ]);
    const events: string[] = [];
    for await (const event of runEventsStream(coordinator.api, id)) events.push(event.message);
    expect(events).toContainEqual(
      expect.stringContaining('the drill was interrupted (coordinator restart); restoring stop-apiserver on cp2 first'),
    );
  }, 120_000);
});
