import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ApiError } from '../../coordinator/cli/api-client.ts';
import type { SimStep } from '../sim/sim-agent.ts';
import { type SimCoordinator, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript, startSimFleet } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { runKubehaCli } from '../support/run-command.ts';

const t = simFleetPerTest();

interface PlanReply {
  run: { id: string; kind: string };
  newCluster: boolean;
  differences: { path: string; applied?: unknown; desired?: unknown }[];
  refusals: string[];
}

interface PlannedStepView {
  id: string;
  kind: string;
  node: string;
  state: string;
  bestEffort: boolean;
  wouldChange?: string[];
  error: { message: string } | null;
}

/**
 * Simulated machines that remember what a real run did to them: a dry run lists one change per step not yet done
 * ("<kind> on <node>") and changes nothing; a real run does it. The CNI step's dry run cannot tell before kubeadm
 * init has made the cluster, as on a real node (no admin.conf).
 */
function machines(failPreflightOn?: string) {
  const done = new Set<string>();
  const script = simScript({ default: 5 }, (step: SimStep) => {
    const key = `${step.node} ${step.kind}`;
    if (step.kind === 'preflight' && step.node === failPreflightOn) return { outcome: 'fail', deterministic: true };
    if (step.dryRun) {
      if (step.kind === 'cni' && !done.has(`${step.node} kubeadm-init`)) {
        return { outcome: 'fail', deterministic: true };
      }
      const pending = step.kind !== 'preflight' && !done.has(key);
      return { changed: pending, changes: pending ? [`${step.kind} on ${step.node}`] : [], outputs: {} };
    }
    done.add(key);
    return {};
  });
  return { script, done };
}

async function planOf(s: SimCoordinator, name: string, spec: unknown) {
  const plan = await s.api.request<PlanReply>('POST', `/v1/clusters/${name}/plan`, spec);
  const ended = await waitForRunEnd(s.api, plan.run.id);
  const detail = await s.api.request<{ state: string; steps: PlannedStepView[] }>('GET', `/v1/runs/${plan.run.id}`);
  return { plan, ended, steps: detail.steps };
}

describe('plan before apply', () => {
  it('GIVEN a new cluster WHEN planned THEN every node runs preflight and each step as a dry run, the plan lists what would change per step, and nothing is stored, sent as a real step or broadcast', async () => {
    t.sim = await startSimCoordinator();
    const { script } = machines();
    const fleet = await startSimFleet(t.sim, { name: 'plan-a', controlPlanes: 3, workers: 2, script });
    t.agents = fleet.agents;

    const { plan, ended, steps } = await planOf(t.sim, 'plan-a', fleet.spec);

    expect(plan.run.kind).toBe('plan');
    expect(plan.newCluster).toBe(true);
    expect(plan.differences).toEqual([]);
    expect(plan.refusals).toEqual([]);
    expect(ended.state, JSON.stringify(steps.filter((s) => s.error))).toBe('succeeded');
    // Every execution on a node was a dry run; no join credentials were made, nothing verified.
    expect(fleet.executions.length).toBeGreaterThan(0);
    expect(fleet.executions.filter((e) => !e.dryRun).map((e) => e.stepId)).toEqual([]);
    expect(steps.map((s) => s.kind)).not.toContain('join-credentials');
    expect(steps.map((s) => s.kind)).not.toContain('verify');
    // Per step what would change.
    const byId = new Map(steps.map((s) => [s.id, s]));
    expect(byId.get('host-prep/w2')).toMatchObject({ state: 'succeeded', wouldChange: ['host-prep on w2'] });
    expect(byId.get('join-worker/w1')).toMatchObject({ state: 'succeeded', wouldChange: ['kubeadm-join on w1'] });
    expect(byId.get('kubeadm-init/cp1')).toMatchObject({ wouldChange: ['kubeadm-init on cp1'] });
    expect(byId.get('preflight/cp2')).toMatchObject({ state: 'succeeded', wouldChange: [] });
    // The CNI step cannot tell before the cluster exists: reported, and the plan goes on.
    expect(byId.get('cni/cp1')).toMatchObject({ state: 'failed', bestEffort: true });
    // The dry runs of joins were sent stand-in credentials, never the cluster's.
    const join = fleet.executions.find((e) => e.stepId === 'join-control-plane/cp2')!;
    expect(join.params['bootstrapToken']).toBe('dryrun.0000000000000000');
    // Nothing stored: no cluster, no values left, no phase sent to any agent.
    await expect(t.sim.api.request('GET', '/v1/clusters/plan-a')).rejects.toMatchObject({ status: 404 });
    expect([...t.sim.coordinator.store.clusterValues.all('plan-a').keys()]).toEqual([]);
    for (const a of t.agents) expect(a.phases).toEqual([]);
    // Journaled like any run.
    const events = t.sim.coordinator.store.events.after(plan.run.id, 0);
    expect(events.at(-1)).toMatchObject({ type: 'run', state: 'succeeded' });
    expect(events.some((e) => e.message === 'host-prep/w2: would change host-prep on w2')).toBe(true);
  });

  it('GIVEN a deployed cluster WHEN its spec is planned again, then a changed one THEN the first is up to date everywhere and the second shows its differences and why a deploy would be refused, the stored spec untouched', async () => {
    t.sim = await startSimCoordinator();
    const { script } = machines();
    const fleet = await startSimFleet(t.sim, { name: 'plan-b', controlPlanes: 3, workers: 1, script });
    t.agents = fleet.agents;
    await t.sim.api.request('PUT', '/v1/clusters/plan-b', fleet.spec);
    const deploy = await t.sim.api.request<{ id: string }>('POST', '/v1/clusters/plan-b/runs', { kind: 'deploy' });
    expect((await waitForRunEnd(t.sim.api, deploy.id)).state).toBe('succeeded');
    const stored = await t.sim.api.request<{ spec: unknown; updatedAt: string }>('GET', '/v1/clusters/plan-b');

    const same = await planOf(t.sim, 'plan-b', fleet.spec);
    expect(same.plan.newCluster).toBe(false);
    expect(same.plan.differences).toEqual([]);
    expect(same.ended.state).toBe('succeeded');
    const changing = same.steps.filter((s) => (s.wouldChange ?? []).length > 0).map((s) => s.id);
    expect(changing).toEqual([]);
    // Members are not joined again, so the plan has no joins; the CNI step can tell now.
    expect(same.steps.map((s) => s.kind)).not.toContain('kubeadm-join');
    expect(same.steps.find((s) => s.id === 'cni/cp1')).toMatchObject({ state: 'succeeded', wouldChange: [] });

    const changed = structuredClone(fleet.spec);
    changed.spec.hostPolicy.selinux = 'enforcing';
    changed.spec.kubernetesVersion = '1.35.1';
    const other = await planOf(t.sim, 'plan-b', changed);
    expect(other.plan.differences).toEqual(
      expect.arrayContaining([
        { path: 'spec.hostPolicy.selinux', applied: 'permissive', desired: 'enforcing' },
        { path: 'spec.kubernetesVersion', applied: '1.34.4', desired: '1.35.1' },
      ]),
    );
    expect(other.plan.refusals).toEqual([expect.stringContaining('spec.kubernetesVersion')]);
    const after = await t.sim.api.request<{ spec: unknown; updatedAt: string }>('GET', '/v1/clusters/plan-b');
    expect(after.spec).toEqual(stored.spec);
    expect(after.updatedAt).toBe(stored.updatedAt);
  });

  it('GIVEN spec files WHEN `kubeha plan -f` and `kubeha apply -f --dry-run` THEN an invalid spec prints every problem (exit 2), a valid one prints the plan per node (exit 0), and a failed preflight exits 1', async () => {
    t.sim = await startSimCoordinator();
    const { script } = machines('w1');
    const fleet = await startSimFleet(t.sim, { name: 'plan-c', controlPlanes: 1, workers: 1, script });
    t.agents = fleet.agents;
    t.dir = mkdtempSync(join(tmpdir(), 'kubeha-plan-'));
    const bad = join(t.dir, 'bad.yaml');
    const invalid = structuredClone(fleet.spec) as Record<string, unknown> & typeof fleet.spec;
    invalid.spec.nodes[0]!.address = 'not-an-address';
    (invalid.spec.endpoint as Record<string, unknown>)['port'] = 99_999;
    writeFileSync(bad, stringify(invalid));
    const refused = await runKubehaCli(t.sim.coordinator, ['plan', '-f', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('spec.nodes[0].address');
    expect(refused.stderr).toContain('spec.endpoint.port');

    // w1's preflight fails: the plan reports it, the steps after the checks are not run, exit 1.
    const good = join(t.dir, 'good.yaml');
    writeFileSync(good, stringify(fleet.spec));
    const failed = await runKubehaCli(t.sim.coordinator, ['apply', '-f', good, '--dry-run']);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stdout).toMatch(/^ {2}preflight\/w1: FAILED: /m);
    expect(failed.stdout).toMatch(/^ {2}host-prep\/cp1: not checked/m);
    expect(failed.stderr).toContain('the plan run failed');
    await expect(t.sim.api.request('GET', '/v1/clusters/plan-c')).rejects.toBeInstanceOf(ApiError);
  });

  it('GIVEN a fleet that passes preflight WHEN `kubeha plan -f` THEN it prints the plan per node and exits 0', async () => {
    t.sim = await startSimCoordinator();
    const { script } = machines();
    const fleet = await startSimFleet(t.sim, { name: 'plan-d', controlPlanes: 1, workers: 1, script });
    t.agents = fleet.agents;
    t.dir = mkdtempSync(join(tmpdir(), 'kubeha-plan-'));
    const file = join(t.dir, 'cluster.yaml');
    writeFileSync(file, stringify(fleet.spec));
    const planned = await runKubehaCli(t.sim.coordinator, ['plan', '-f', file]);
    expect(planned.code, planned.stderr).toBe(0);
    const lines = planned.stdout.split('\n');
    expect(lines[0]).toMatch(/^plan of cluster plan-d \(run run-[0-9a-f-]+\); nothing was changed$/);
    expect(lines).toContain('a new cluster: the coordinator does not know it yet');
    expect(lines).toContain('w1');
    expect(lines).toContain('  host-prep/w1: would change');
    expect(lines).toContain('      host-prep on w1');
    expect(lines).toContain('  preflight/w1: up to date');
    expect(planned.stdout).toMatch(/^ {2}cni\/cp1: cannot tell: /m);
    expect(lines).toContain('coordinator');
    expect(lines.filter(Boolean).at(-1)).toMatch(/^\d+ step\(s\) would change something on 2 node\(s\)$/);
  });
});
