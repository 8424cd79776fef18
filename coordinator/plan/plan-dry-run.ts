import type { PlannedStep } from './run-plan.ts';

const readOnlyPhases: ReadonlySet<string> = new Set(['preflight', 'cross-node-checks']);

/**
 * The plan run's DAG from the deploy's: preflight and the cross-node checks as they are (they only read, and their
 * failure fails the plan), then every other agent step as a dry run, all at once after the checks: nothing changes,
 * so no step waits for another's effect. A dry run that cannot tell (the CNI step before kubeadm init has made the
 * cluster) is best effort: it is reported with its reason and the plan goes on. verify reads a running cluster only.
 */
export function dryRunSteps(deploy: PlannedStep[]): PlannedStep[] {
  const checks = deploy.find((s) => s.phase === 'cross-node-checks');
  return deploy
    .filter((s) => s.phase !== 'verify')
    .map((s) => {
      if (readOnlyPhases.has(s.phase)) return s;
      return {
        ...s,
        dependsOn: checks ? [checks.id] : [],
        retry: { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 },
        bestEffort: true,
      };
    });
}
