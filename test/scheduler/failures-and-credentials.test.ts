import { afterEach, describe, expect, it } from 'vitest';
import { runEventsStream } from '../../coordinator/cli/run-events-stream.ts';
import { planRun } from '../../coordinator/plan/plan-run.ts';
import type { PlanRun } from '../../coordinator/plan/run-plan.ts';
import { leakedSecrets, secretsSentToAgents } from '../sim/secret-values.ts';
import type { SimAgent, SimExecution } from '../sim/sim-agent.ts';
import { type SimCoordinator, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { enrollWithSimCoordinator, simClusterSpec, simScript, stopSimFleet } from '../sim/sim-fleet.ts';
import { waitFor } from '../support/wait-for.ts';

let sim: SimCoordinator | undefined;
let agents: SimAgent[] = [];

afterEach(async () => {
  await stopSimFleet(agents, sim);
  sim = undefined;
});

async function fleet(
  s: SimCoordinator,
  name: string,
  script: ReturnType<typeof simScript>,
  shape = { controlPlanes: 3, workers: 2 },
) {
  const { spec, nodes } = simClusterSpec({ name, ...shape });
  const executions: SimExecution[] = [];
  agents = await enrollWithSimCoordinator(s, { nodes, executions, script });
  for (const a of agents) a.start();
  await s.api.request('POST', '/v1/clusters', spec);
  return { executions };
}

async function allEvents(s: SimCoordinator, runId: string) {
  const texts: string[] = [];
  for await (const e of runEventsStream(s.api, runId)) texts.push(JSON.stringify(e));
  return texts;
}

describe('failures, retries and join credentials', () => {
  it('GIVEN a control-plane join that fails once WHEN the run goes on THEN the node is reset and its etcd member removed before the retry succeeds', async () => {
    sim = await startSimCoordinator();
    let failed = false;
    const { executions } = await fleet(
      sim,
      'sim-b',
      simScript({ default: 5 }, (step) => {
        if (step.stepId === 'join-control-plane/cp2' && !failed) {
          failed = true;
          return { outcome: 'fail' };
        }
        return undefined;
      }),
    );
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/sim-b/runs', { kind: 'deploy' });
    const done = await waitForRunEnd(sim.api, run.id);

    expect(done.state).toBe('succeeded');
    const order = executions
      .filter((e) => e.node === 'cp2' || e.kind === 'remove-etcd-member')
      .map((e) => `${e.kind}@${e.node}#${e.attempt}`);
    const firstJoin = order.indexOf('kubeadm-join@cp2#1');
    const cleanup = order.indexOf('kubeadm-reset@cp2#1');
    const removeMember = order.findIndex((o) => o.startsWith('remove-etcd-member@cp1'));
    const retry = order.indexOf('kubeadm-join@cp2#2');
    expect(firstJoin).toBeGreaterThanOrEqual(0);
    expect(cleanup).toBeGreaterThan(firstJoin);
    expect(removeMember).toBeGreaterThan(cleanup);
    expect(retry).toBeGreaterThan(removeMember);
    const member = executions.find((e) => e.kind === 'remove-etcd-member')!;
    expect(member.params).toMatchObject({ memberName: 'cp2', memberPeerUrl: 'https://10.10.0.12:2380' });
    const join = done.steps.find((s) => s.id === 'join-control-plane/cp2')!;
    expect(join.attempt).toBe(2);
    expect(join.state).toBe('succeeded');
    // cp3 joins only after cp2 finally joined.
    const cp3 = executions.find((e) => e.stepId === 'join-control-plane/cp3')!;
    expect(cp3.startedAt).toBeGreaterThanOrEqual(
      executions.find((e) => e.stepId === 'join-control-plane/cp2' && e.attempt === 2)!.finishedAt!,
    );

    const events = await allEvents(sim, run.id);
    expect(leakedSecrets(secretsSentToAgents(executions), [...sim.logs, ...sim.replies, ...events])).toEqual([]);
  }, 60_000);

  it('GIVEN a deterministic failure WHEN it happens THEN it is not retried and the run fails, naming the step', async () => {
    sim = await startSimCoordinator();
    const { executions } = await fleet(
      sim,
      'sim-c',
      simScript({ default: 5 }, (step) =>
        step.stepId === 'kube-packages/w1' ? { outcome: 'fail', deterministic: true } : undefined,
      ),
    );
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/sim-c/runs', { kind: 'deploy' });
    const done = await waitForRunEnd(sim.api, run.id);
    expect(done.state).toBe('failed');
    expect(done.error).toContain('kube-packages/w1');
    expect(executions.filter((e) => e.stepId === 'kube-packages/w1')).toHaveLength(1);
    expect(done.steps.find((s) => s.id === 'join-worker/w1')?.state).toBe('skipped');
  });

  it('GIVEN a certificate key older than 100 minutes (injected clock) WHEN a control plane joins THEN the certificates are re-uploaded first', async () => {
    let offsetMs = 0;
    sim = await startSimCoordinator({ schedulerNow: () => Date.now() + offsetMs });
    const { executions } = await fleet(
      sim,
      'sim-d',
      simScript({ default: 5 }, (step) =>
        // 101 minutes pass as the CNI finishes, when no other step is in flight.
        step.kind === 'cni'
          ? {
              beforeResult: () => {
                offsetMs = 101 * 60 * 1000;
              },
            }
          : undefined,
      ),
      { controlPlanes: 3, workers: 0 },
    );
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/sim-d/runs', { kind: 'deploy' });
    const done = await waitForRunEnd(sim.api, run.id);
    expect(done.state).toBe('succeeded');
    const upload = executions.find((e) => e.kind === 'join-credentials' && e.params['action'] === 'upload-certs');
    expect(upload?.node).toBe('cp1');
    const cp2Join = executions.find((e) => e.stepId === 'join-control-plane/cp2')!;
    expect(cp2Join.startedAt).toBeGreaterThanOrEqual(upload!.finishedAt!);
    expect(upload!.params['certificateKey']).toBe(cp2Join.params['certificateKey']);
    // The upload refreshed the key's age: cp3 (joining right after) needs none of its own.
    expect(executions.filter((e) => e.params['action'] === 'upload-certs')).toHaveLength(1);
  }, 30_000);

  it('GIVEN an agent that drops its session mid-step WHEN it comes back THEN its spooled result is applied and the step is not run twice', async () => {
    sim = await startSimCoordinator();
    let dropped = false;
    const { executions } = await fleet(
      sim,
      'sim-e',
      simScript({ default: 5 }, (step) => {
        if (step.stepId === 'host-prep/w2' && !dropped) {
          dropped = true;
          return { delayMs: 100, disconnectForMs: 800 };
        }
        return undefined;
      }),
    );
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/sim-e/runs', { kind: 'deploy' });
    const done = await waitForRunEnd(sim.api, run.id);
    expect(done.state).toBe('succeeded');
    expect(executions.filter((e) => e.stepId === 'host-prep/w2')).toHaveLength(1);
    expect(done.steps.find((s) => s.id === 'host-prep/w2')).toMatchObject({ state: 'succeeded', attempt: 1 });
    const w2 = agents.find((a) => a.options.node === 'w2')!;
    await waitFor('the spool to drain', () => w2.unacknowledged === 0);
  });

  it('GIVEN a step that hangs WHEN the run is cancelled THEN nothing new starts, the agent is told to stop and the run ends cancelled', async () => {
    sim = await startSimCoordinator();
    const { executions } = await fleet(
      sim,
      'sim-f',
      simScript({ default: 5 }, (step) => (step.kind === 'kubeadm-init' ? { outcome: 'hang' } : undefined)),
    );
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/sim-f/runs', { kind: 'deploy' });
    await waitFor('init to start', () => executions.some((e) => e.kind === 'kubeadm-init'));
    const cancelled = await sim.api.request<{ state: string }>('POST', `/v1/runs/${run.id}/cancel`);
    expect(cancelled.state).toBe('cancelled');
    const done = await waitForRunEnd(sim.api, run.id);
    expect(done.steps.find((s) => s.kind === 'kubeadm-init')?.state).toBe('cancelled');
    await waitFor('the agent to stop the step', () =>
      executions.some((e) => e.kind === 'kubeadm-init' && e.outcome === 'cancelled'),
    );
    expect(executions.some((e) => e.kind === 'kubeadm-join')).toBe(false);
  });

  it('GIVEN a step that hangs past its timeout THEN the agent is told to stop and the next attempt succeeds', async () => {
    // The real plan with a 1 s timeout and short backoff on host-prep/w1.
    const fastPlan: PlanRun = (kind, spec) => {
      const plan = planRun(kind, spec);
      for (const step of plan.steps) {
        if (step.id === 'host-prep/w1') {
          step.timeoutSeconds = 1;
          step.retry = { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 50 };
        }
      }
      return plan;
    };
    sim = await startSimCoordinator({ scheduler: { planRun: fastPlan } });
    const { executions } = await fleet(
      sim,
      'sim-g',
      simScript({ default: 5 }, (step) =>
        step.stepId === 'host-prep/w1' && step.attempt === 1 ? { outcome: 'hang' } : undefined,
      ),
    );
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/sim-g/runs', { kind: 'deploy' });
    const done = await waitForRunEnd(sim.api, run.id);
    expect(done.state).toBe('succeeded');
    const attempts = executions.filter((e) => e.stepId === 'host-prep/w1');
    expect(attempts.map((e) => [e.attempt, e.outcome])).toEqual([
      [1, 'cancelled'],
      [2, 'succeeded'],
    ]);
    const events = await allEvents(sim, run.id);
    expect(events.some((e) => e.includes('KUBEHA_STEP_TIMEOUT'))).toBe(true);
  });

  it('GIVEN an agent away longer than the grace period THEN its step counts as failed and runs again, the late result is ignored', async () => {
    const fastPlan: PlanRun = (kind, spec) => {
      const plan = planRun(kind, spec);
      for (const step of plan.steps) {
        if (step.id === 'container-runtime/w2') step.retry = { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 50 };
      }
      return plan;
    };
    sim = await startSimCoordinator({ scheduler: { planRun: fastPlan, disconnectGraceMs: 300 } });
    const { executions } = await fleet(
      sim,
      'sim-h',
      simScript({ default: 5 }, (step) =>
        step.stepId === 'container-runtime/w2' && step.attempt === 1
          ? { delayMs: 100, disconnectForMs: 1_500 }
          : undefined,
      ),
    );
    const run = await sim.api.request<{ id: string }>('POST', '/v1/clusters/sim-h/runs', { kind: 'deploy' });
    const done = await waitForRunEnd(sim.api, run.id);
    expect(done.state).toBe('succeeded');
    expect(done.steps.find((s) => s.id === 'container-runtime/w2')).toMatchObject({ state: 'succeeded', attempt: 2 });
    expect(executions.filter((e) => e.stepId === 'container-runtime/w2').map((e) => e.attempt)).toEqual([1, 2]);
    const events = await allEvents(sim, run.id);
    expect(events.some((e) => e.includes('KUBEHA_AGENT_DISCONNECTED'))).toBe(true);
    const w2 = agents.find((a) => a.options.node === 'w2')!;
    await waitFor('the stale result to be acknowledged too', () => w2.unacknowledged === 0);
  });
});
