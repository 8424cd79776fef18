import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type CoordinatorProcess, startCoordinatorProcess } from '../sim/coordinator-process.ts';
import type { SimAgent, SimExecution } from '../sim/sim-agent.ts';
import type { RunView } from '../sim/sim-coordinator.ts';
import { createEnrollToken, enrollSimAgents, simClusterSpec, simScript } from '../sim/sim-fleet.ts';
import { freePort } from '../support/free-port.ts';
import { waitFor } from '../support/wait-for.ts';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a plan run across a coordinator crash', () => {
  it('GIVEN a plan of a new cluster WHEN the coordinator is SIGKILLed half-way THEN the restarted one resumes the plan of the same spec to the end, and still stores no cluster', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kubeha-plan-crash-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const ports = { grpcPort: await freePort(), apiPort: await freePort() };
    const output: string[] = [];
    let coordinator: CoordinatorProcess = await startCoordinatorProcess({ dataDir, ...ports, output });
    cleanups.push(() => {
      coordinator.child.kill('SIGKILL');
    });
    const { spec, nodes } = simClusterSpec({ name: 'plan-crash', controlPlanes: 3, workers: 2 });
    const executions: SimExecution[] = [];
    const { token } = await createEnrollToken(coordinator.api, nodes.length);
    const agents: SimAgent[] = await enrollSimAgents({
      coordinator: `127.0.0.1:${ports.grpcPort}`,
      caPem: coordinator.caPem,
      token,
      approveWith: coordinator.api,
      nodes,
      executions,
      script: simScript({ default: 150 }, (step) =>
        step.dryRun ? { changes: [`${step.kind} on ${step.node}`], outputs: {} } : undefined,
      ),
    });
    cleanups.push(() => Promise.all(agents.map((a) => a.stop())).then(() => undefined));
    for (const a of agents) a.start();
    await waitFor('every agent connected', () => agents.every((a) => a.connected));
    const { run } = await coordinator.api.request<{ run: { id: string } }>(
      'POST',
      '/v1/clusters/plan-crash/plan',
      spec,
    );

    // WHEN the coordinator dies once the preflights are done and before the dry runs have all come back
    await waitFor(
      'the preflights to finish',
      async () => {
        const r = await coordinator.api.request<RunView>('GET', `/v1/runs/${run.id}`);
        return r.steps.filter((s) => s.kind === 'preflight' && s.state === 'succeeded').length === 5;
      },
      60_000,
      10,
    );
    coordinator.child.kill('SIGKILL');
    await coordinator.exited;
    coordinator = await startCoordinatorProcess({ dataDir, ...ports, output });

    // THEN the plan ends as it would have, from the spec it was asked about
    const ended = await waitFor(
      'the plan to finish',
      async () => {
        const r = await coordinator.api.request<RunView & { steps: { wouldChange?: string[] }[] }>(
          'GET',
          `/v1/runs/${run.id}`,
        );
        return r.state === 'running' ? undefined : r;
      },
      120_000,
      100,
    );
    expect(ended.state, JSON.stringify(ended.steps.filter((s) => s.error))).toBe('succeeded');
    expect(ended.steps.find((s) => s.id === 'host-prep/w2')).toMatchObject({ wouldChange: ['host-prep on w2'] });
    expect(executions.filter((e) => !e.dryRun)).toEqual([]);
    // AND nothing of it is stored as a cluster
    await expect(coordinator.api.request('GET', '/v1/clusters/plan-crash')).rejects.toMatchObject({ status: 404 });
  }, 240_000);
});
