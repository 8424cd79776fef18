import { describe, expect, it } from 'vitest';
import { testSpec } from '../../test/support/test-spec.ts';
import { criticalPath, criticalPathSteps, makespanLowerBound, topologicalOrder } from './critical-path.ts';
import { noRetry, planRun } from './plan-run.ts';
import type { PlannedStep, RunPlan } from './run-plan.ts';

function planOf(edges: Record<string, string[]>): RunPlan {
  const steps: PlannedStep[] = Object.entries(edges).map(([id, dependsOn]) => ({
    id,
    kind: 'verify',
    phase: 'verify',
    runsOn: 'agent',
    node: id,
    dependsOn,
    timeoutSeconds: 60,
    retry: noRetry,
    params: {},
  }));
  return { kind: 'deploy', cluster: 'test', steps };
}

const spec = testSpec({
  nodes: [
    { name: 'cp1', address: '10.0.0.11', role: 'control-plane' },
    { name: 'cp2', address: '10.0.0.12', role: 'control-plane' },
    { name: 'cp3', address: '10.0.0.13', role: 'control-plane' },
    { name: 'w1', address: '10.0.0.21', role: 'worker' },
    { name: 'w2', address: '10.0.0.22', role: 'worker' },
  ],
});

describe('criticalPath', () => {
  it.each<[string, Record<string, string[]>, Record<string, number>, number, string[]]>([
    ['an empty plan', {}, {}, 0, []],
    ['one step', { a: [] }, { a: 7 }, 7, ['a']],
    ['a chain adds up', { a: [], b: ['a'], c: ['b'] }, { a: 1, b: 2, c: 3 }, 6, ['a', 'b', 'c']],
    ['parallel steps take the longest', { a: [], b: [], c: [] }, { a: 1, b: 5, c: 3 }, 5, ['b']],
    [
      'a diamond takes its longer arm',
      { a: [], left: ['a'], right: ['a'], z: ['left', 'right'] },
      { a: 1, left: 10, right: 2, z: 1 },
      12,
      ['a', 'left', 'z'],
    ],
    [
      'a short step late in a long chain beats a long lone step',
      { a: [], b: ['a'], lone: [] },
      { a: 4, b: 4, lone: 7 },
      8,
      ['a', 'b'],
    ],
  ])('%s', (_name, edges, durations, seconds, path) => {
    const plan = planOf(edges);
    expect(criticalPath(plan, (s) => durations[s.id]!)).toBe(seconds);
    expect(criticalPathSteps(plan, (s) => durations[s.id]!)).toEqual({ seconds, steps: path });
  });

  it('the deploy plan with equal step times runs through init, the CNI and the serial control-plane joins', () => {
    const plan = planRun('deploy', spec);
    const { seconds, steps } = criticalPathSteps(plan, () => 10);
    expect(steps).toEqual([
      'preflight/cp1',
      'cross-node-checks',
      'host-prep/cp1',
      'container-runtime/cp1',
      'kube-packages/cp1',
      'load-balancer/cp1',
      'kubeadm-init/cp1',
      'cni/cp1',
      'join-control-plane/cp2',
      'join-control-plane/cp3',
      'verify/cp1',
    ]);
    expect(seconds).toBe(110);
  });

  it('a slow worker moves the critical path onto its own chain', () => {
    const plan = planRun('deploy', spec);
    const { seconds, steps } = criticalPathSteps(plan, (s) => (s.id === 'kube-packages/w2' ? 200 : 10));
    expect(steps).toEqual([
      'preflight/cp1',
      'cross-node-checks',
      'host-prep/w2',
      'container-runtime/w2',
      'kube-packages/w2',
      'join-worker/w2',
      'verify/cp1',
    ]);
    expect(seconds).toBe(10 + 10 + 10 + 10 + 200 + 10 + 10);
  });

  it('the cross-node checks wait for the slowest preflight', () => {
    const plan = planRun('deploy', spec);
    expect(criticalPath(plan, (s) => (s.id === 'preflight/w1' ? 60 : 10))).toBe(110 + 50);
  });
});

describe('makespanLowerBound', () => {
  function workers(count: number, limit: number) {
    return testSpec({
      networking: { podCIDR: '10.128.0.0/9' },
      concurrency: { workers: limit },
      nodes: [
        { name: 'cp1', address: '10.0.0.11', role: 'control-plane' },
        ...Array.from({ length: count }, (_, i) => ({
          name: `w${i + 1}`,
          address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
          role: 'worker',
        })),
      ],
    });
  }

  it('equals the critical path when no group holds anything back', () => {
    const plan = planRun('deploy', spec);
    expect(makespanLowerBound(plan, () => 10)).toBe(criticalPath(plan, () => 10));
  });

  it('counts rounds of equal joins: 25 workers, 10 at a time, need 3 rounds', () => {
    const plan = planRun('deploy', workers(25, 10));
    // preflight, checks, host-prep, runtime, packages, load-balancer, init = 70 s before the first join;
    // 3 rounds of 10 s; then verify 10 s.
    expect(makespanLowerBound(plan, () => 10)).toBe(70 + 30 + 10);
    expect(criticalPath(plan, () => 10)).toBe(90);
  });

  it('spreads unequal joins over the slots', () => {
    const plan = planRun('deploy', workers(4, 2));
    const join = (id: string) => ({ 'join-worker/w1': 40, 'join-worker/w2': 10, 'join-worker/w3': 10 })[id] ?? 20;
    const bound = makespanLowerBound(plan, (s) => (s.phase === 'join-worker' ? join(s.id) : 10));
    // First join possible at 70 s, then max(40, (40+10+10+20)/2 = 40) s, then verify.
    expect(bound).toBe(70 + 40 + 10);
  });
});

describe('topologicalOrder', () => {
  it('puts every step after its dependencies', () => {
    const plan = planRun('deploy', spec);
    const position = new Map(topologicalOrder(plan).map((s, i) => [s.id, i]));
    for (const s of plan.steps) for (const d of s.dependsOn) expect(position.get(d)!).toBeLessThan(position.get(s.id)!);
  });

  it('refuses a cycle, naming it', () => {
    expect(() => topologicalOrder(planOf({ a: ['c'], b: ['a'], c: ['b'] }))).toThrow(/cycle: a -> c -> b -> a/);
  });

  it('refuses a dependency on an unknown step', () => {
    expect(() => topologicalOrder(planOf({ a: ['ghost'] }))).toThrow('step a depends on unknown step ghost');
  });
});
