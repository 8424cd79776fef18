import type { FailoverDrillReport } from '../../drill/failover-drill.ts';
import type { ApiClient } from '../api-client.ts';
import { type WatchOutput, watchCommand } from './watch-command.ts';

type DrillReportView = FailoverDrillReport;

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The measured figures of each action, to the drill's resolution. */
export function formatDrillReport(report: DrillReportView): string {
  const lines = [
    `failover drill: ${report.ok ? 'ok' : 'FAILED'}`,
    // The /readyz figures are measured by the coordinator; who holds the VIP is what each agent says of itself.
    "  (/readyz probed through the endpoint by the coordinator; VIP holders self-reported: each agent's own address events)",
  ];
  for (const a of report.actions) {
    const order = a.holderTimeline.map((h) => h.holders.join('+') || 'none').join(' -> ');
    lines.push(
      `  ${a.action} on ${a.initialHolder ?? '(no single VIP holder)'}: ${a.ok ? 'ok' : 'FAILED'}`,
      `    /readyz outage: longest ${seconds(a.longestOutageMs)}, ${seconds(a.readyzDowntimeMs)} in all (${a.failedProbes} of ${a.probes} probes failed, one every ${a.probeIntervalMs} ms)`,
      `    VIP: no holder for ${seconds(a.vipAbsentMs)}, two holders for ${seconds(a.vipTwoHoldersMs)}; holders ${order || 'unknown'}`,
      `    new VIP holder: ${a.vipMovedTo ?? 'none (the VIP stayed)'}; after the restore: ${a.finalHolders.join(', ') || 'none'}`,
      `    max simultaneous VIP holders: ${a.maxSimultaneousHolders}; agent clocks ${a.clockSpreadMs} ms apart`,
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
