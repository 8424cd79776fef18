import type { FailoverDrillReport } from '../../drill/failover-drill.ts';
import type { ApiClient } from '../api-client.ts';
import { type WatchOutput, watchCommand } from './watch-command.ts';

type DrillReportView = FailoverDrillReport;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The drill's measured figures, one block per action. */
export function formatDrillReport(report: DrillReportView): string {
  const lines = [
    `failover drill: ${report.ok ? 'ok' : 'FAILED'}`,
    // The /readyz figures are measured by the coordinator; who holds the VIP is what each agent says of itself.
    '  (VIP holders as the agents report them in their heartbeats; the /readyz gap is measured through the endpoint)',
  ];
  for (const a of report.actions) {
    lines.push(
      `  ${a.action} on ${a.initialHolder ?? '(no single VIP holder)'}: ${a.ok ? 'ok' : 'FAILED'}`,
      `    /readyz gap: ${seconds(a.readyzDowntimeMs)} in all, longest ${seconds(a.longestOutageMs)}; no VIP holder for ${seconds(a.vipAbsentMs)}`,
      `    new VIP holder: ${a.vipMovedTo ?? 'none (the VIP stayed)'}; after the restore: ${a.finalHolders.join(', ') || 'none'}`,
      `    max simultaneous VIP holders: ${a.maxSimultaneousHolders}`,
      `    recovered: ${a.recoveredAfterRestoreMs === undefined ? 'no' : `${seconds(a.recoveredAfterRestoreMs)} after the restore`}`,
      ...a.problems.map((p) => `    problem: ${p}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `kubeha drill failover CLUSTER`: starts a drill-failover run, watches it, then prints what the drill measured. */
export async function drillFailoverCommand(
  api: ApiClient,
  cluster: string,
  output: WatchOutput,
  options: { watch: boolean },
): Promise<number> {
  const run = await api.request<{ id: string }>('POST', `/v1/clusters/${encodeURIComponent(cluster)}/runs`, {
    kind: 'drill-failover',
  });
  output.write(`drill-failover run ${run.id} of ${cluster} started\n`);
  if (!options.watch) return 0;
  const code = await watchCommand(api, run.id, output);
  const detail = await api.request<{ steps: { kind: string; report?: string }[] }>(
    'GET',
    `/v1/runs/${encodeURIComponent(run.id)}`,
  );
  const report = detail.steps.find((s) => s.kind === 'failover-drill' && s.report)?.report;
  if (report) output.write(formatDrillReport(JSON.parse(report) as DrillReportView));
  else output.write('failover drill: no report (the drill did not run to its end)\n');
  return code;
}
