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

/**
 * A lower bound on any schedule's makespan that also counts concurrency groups: the steps of a group run between
 * the earliest any of them can start and the latest any of them can end, at most `limit` at a time. With 1,000
 * workers joining 10 at a time this is the bound to compare a run against; without groups it is criticalPath.
 */
export function makespanLowerBound(plan: RunPlan, durationOf: (step: PlannedStep) => number): number {
  const order = topologicalOrder(plan);
  const duration = new Map(order.map((s) => [s.id, durationOf(s)]));
  const head = new Map<string, number>();
  for (const step of order) {
    head.set(step.id, Math.max(0, ...step.dependsOn.map((d) => head.get(d)! + duration.get(d)!)));
  }
  const dependents = new Map<string, string[]>();
  for (const step of order) for (const d of step.dependsOn) dependents.set(d, [...(dependents.get(d) ?? []), step.id]);
  const tail = new Map<string, number>();
  for (const step of [...order].reverse()) {
    tail.set(step.id, Math.max(0, ...(dependents.get(step.id) ?? []).map((d) => duration.get(d)! + tail.get(d)!)));
  }
  let bound = Math.max(0, ...order.map((s) => head.get(s.id)! + duration.get(s.id)! + tail.get(s.id)!));

  const groups = new Map<string, { limit: number; steps: PlannedStep[] }>();
  for (const step of order) {
    if (!step.concurrencyGroup) continue;
    const group = groups.get(step.concurrencyGroup.name) ?? { limit: step.concurrencyGroup.limit, steps: [] };
    group.steps.push(step);
    groups.set(step.concurrencyGroup.name, group);
  }
  for (const { limit, steps } of groups.values()) {
    const durations = steps.map((s) => duration.get(s.id)!);
    const equal = durations.every((d) => d === durations[0]);
    // Equal steps pack into whole rounds; unequal ones are bounded by their total work spread over the slots.
    const busy = equal
      ? Math.ceil(steps.length / limit) * durations[0]!
      : Math.max(Math.max(...durations), durations.reduce((a, b) => a + b, 0) / limit);
    const start = Math.min(...steps.map((s) => head.get(s.id)!));
    const end = Math.min(...steps.map((s) => tail.get(s.id)!));
    bound = Math.max(bound, start + busy + end);
  }
  return bound;
}
