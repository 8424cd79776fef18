import { ErrorCode } from '../../../common/errors.ts';
import { drillSummary, driveDrill } from '../../drill/drive-drill.ts';
import type { DrillAction } from '../../drill/failover-drill.ts';
import type { CoordinatorStepDefinition } from './coordinator-step.ts';

/** Breaks the VIP holder's apiserver, HAProxy or keepalived in turn and reports how the endpoint failed over. */
export const failoverDrillStep: CoordinatorStepDefinition = {
  kind: 'failover-drill',
  mode: 'background',
  async run({ spec, step, clusterCaPem, drillRun, drillOptions }) {
    const candidates = ((step.params['candidates'] as { name: string }[] | undefined) ?? []).map((c) => c.name);
    const actions = ((step.params['actions'] as string[] | undefined) ?? []) as DrillAction[];
    const endpoint = String(
      step.params['controlPlaneEndpoint'] ?? `${spec.spec.endpoint.vip}:${spec.spec.endpoint.port}`,
    );
    try {
      const report = await driveDrill(drillRun, { candidates, actions, endpoint, caPem: clusterCaPem() }, drillOptions);
      const problems = report.actions.flatMap((a) => a.problems);
      return {
        log: report.actions.map(drillSummary),
        changed: report.actions.length > 0,
        outputs: { report: JSON.stringify(report) },
        ...(report.ok
          ? {}
          : { failure: { code: ErrorCode.stepFailed, message: problems.join('; ') || 'the drill did not complete' } }),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { log: [], changed: false, failure: { code: ErrorCode.stepFailed, message } };
    }
  },
};
