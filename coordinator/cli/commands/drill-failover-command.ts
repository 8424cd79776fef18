import type { FailoverDrillReport } from '../../drill/failover-drill.ts';
import type { ApiClient } from '../api-client.ts';
import { formatStructured, isStructured } from '../output-format.ts';
import type { RunDetailView } from '../run-progress.ts';
import { type StartRunOptions, startRun } from './start-run-command.ts';
import type { WatchOutput } from './watch-command.ts';

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

/**
 * `kubeha drill failover CLUSTER`: asks on a terminal unless --yes, starts a drill-failover run, watches it, then
 * prints what the drill measured (with -o json|yaml: the run and the report as data).
 */
export async function drillFailoverCommand(
  api: ApiClient,
  cluster: string,
  output: WatchOutput,
  options: StartRunOptions,
): Promise<number> {
  const structured = isStructured(options.format);
  // As data, the run and its report are printed once, below: the watch itself prints nothing.
  const watchOutput = structured && options.watch ? { write: () => {}, isTTY: false } : output;
  const started = await startRun(api, cluster, 'drill-failover', watchOutput, options);
  if (!options.watch || started.runId === undefined || started.code === 130) return started.code;
  const detail = await api.request<RunDetailView>('GET', `/v1/runs/${encodeURIComponent(started.runId)}`);
  const text = detail.steps.find((s) => s.kind === 'failover-drill' && s.report)?.report;
  const report = text ? (JSON.parse(text) as DrillReportView) : undefined;
  if (structured) {
    output.write(`${formatStructured(options.format as 'json' | 'yaml', { run: detail, report: report ?? null })}\n`);
  } else if (report) output.write(formatDrillReport(report));
  else output.write('failover drill: no report (the drill did not run to its end)\n');
  return started.code;
}
