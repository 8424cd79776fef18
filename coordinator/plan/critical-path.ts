import type { PlannedStep, RunPlan } from './run-plan.ts';

/** The plan's steps with every step after the steps it depends on; throws on an unknown dependency or a cycle. */
export function topologicalOrder(plan: RunPlan): PlannedStep[] {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const order: PlannedStep[] = [];
  const visit = (step: PlannedStep, from: string[]) => {
    const seen = state.get(step.id);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`the plan has a cycle: ${[...from, step.id].join(' -> ')}`);
    state.set(step.id, 'visiting');
    for (const dependency of step.dependsOn) {
      const before = byId.get(dependency);
      if (!before) throw new Error(`step ${step.id} depends on unknown step ${dependency}`);
      visit(before, [...from, step.id]);
    }
    state.set(step.id, 'done');
    order.push(step);
  };
  for (const step of plan.steps) visit(step, []);
  return order;
}

/**
 * The longest chain of dependent steps, in seconds: no schedule of the DAG can finish sooner. Concurrency groups
 * are not counted, so a group whose limit is below its size makes the real makespan longer.
 */
export function criticalPath(plan: RunPlan, durationOf: (step: PlannedStep) => number): number {
  return criticalPathSteps(plan, durationOf).seconds;
}

/** As criticalPath, with the steps of one longest chain, first to last. */
export function criticalPathSteps(
  plan: RunPlan,
  durationOf: (step: PlannedStep) => number,
): { seconds: number; steps: string[] } {
  const finish = new Map<string, { at: number; via?: string }>();
  let last: string | undefined;
  for (const step of topologicalOrder(plan)) {
    let start = 0;
    let via: string | undefined;
    for (const dependency of step.dependsOn) {
      const at = finish.get(dependency)!.at;
      if (via === undefined || at > start) {
        start = at;
        via = dependency;
      }
    }
    const at = start + durationOf(step);
    finish.set(step.id, via === undefined ? { at } : { at, via });
    if (last === undefined || at > finish.get(last)!.at) last = step.id;
  }
  const steps: string[] = [];
  for (let id = last; id !== undefined; id = finish.get(id)!.via) steps.unshift(id);
  return { seconds: last === undefined ? 0 : finish.get(last)!.at, steps };
}
