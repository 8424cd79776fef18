import type { ClusterHealthReport } from '../../../agent/kubeadm/cluster-health-report.ts';
import type { AgentsConnectedReport, NodeAgentCheck } from '../../scheduler/coordinator-steps/agents-connected.ts';
import type { ApiClient } from '../api-client.ts';
import { formatStructured, isStructured, type OutputFormat } from '../output-format.ts';
import type { RunDetailView } from '../run-progress.ts';
import { ago } from '../table.ts';
import { followRun, type WatchOptions, type WatchOutput } from './watch-command.ts';

type HealthReportView = ClusterHealthReport;

/** The verify step's report, as an operator reads it: nodes, control-plane pods, etcd and its leader, leases, the endpoint. */
export function formatHealthReport(report: HealthReportView): string[] {
  const lines = [`cluster health, checked on ${report.checkedOn}: ${report.ok ? 'ok' : 'NOT ok'}`];
  lines.push(
    `  nodes:     ${report.nodes.map((n) => `${n.name} (${n.role}) ${n.inCluster === false ? 'NOT in the cluster' : n.ready ? 'Ready' : 'NOT Ready'}`).join(', ') || 'none'}`,
  );
  const notReadyPods = report.controlPlanePods.filter((p) => p.phase !== 'Running' || !p.ready);
  lines.push(
    `  control-plane pods: ${report.controlPlanePods.length} seen, ${notReadyPods.length === 0 ? 'all Running and ready' : notReadyPods.map((p) => `${p.component} on ${p.node} ${p.phase}${p.ready ? '' : ' not ready'}`).join(', ')}`,
  );
  lines.push(
    `  etcd:      ${report.etcd.members.map((m) => `${m.name || m.id}${m.isLeader ? ' (leader)' : ''}${m.isLearner ? ' (learner)' : ''}${m.healthy ? '' : ' UNHEALTHY'}`).join(', ') || 'no members read'}; leader ${report.etcd.leader ?? 'none'}`,
  );
  lines.push(
    `  leases:    ${report.leases.map((l) => `${l.name} held by ${l.holderNode || l.holderIdentity}`).join(', ') || 'none read'}`,
  );
  lines.push(
    `  endpoint:  ${report.readyz.url} ${report.readyz.ok ? 'ready' : `NOT ready (HTTP ${report.readyz.httpStatus})`}`,
  );
  const pods = report.podNetwork;
  if (pods) {
    const failed = pods.checked.filter((c) => !c.ok);
    lines.push(
      `  pod traffic: ${pods.skipped ? `not checked (${pods.skipped})` : `${pods.checked.length - failed.length}/${pods.checked.length} node pairs reach each other`}`,
      ...failed.map((c) => `    ${c.from} -> ${c.to}: ${c.error ?? 'failed'}`),
    );
  }
  for (const k of report.kubeconfigs.filter((k) => k.pointsAt !== 'endpoint')) {
    lines.push(`  kubeconfig ${k.file}: ${k.pointsAt === 'missing' ? 'missing' : `points at ${k.server}`}`);
  }
  for (const p of report.problems) lines.push(`  problem: ${p}`);
  return lines;
}

function stepReport<T>(run: RunDetailView | undefined, kind: string): T | undefined {
  const text = run?.steps.find((s) => s.kind === kind && s.report)?.report;
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

function agentLine(check: NodeAgentCheck, now: number): string {
  if (check.state === 'no agent')
    return `node ${check.node}: its agent is missing (none serves it: enroll or approve one)`;
  return `node ${check.node}: its agent is offline (${check.agentId}, last heartbeat ${ago(check.lastHeartbeatAt, now)})`;
}

/**
 * `kubeha verify CLUSTER`: a verify run, then its report. The run itself checks that every node's agent is connected
 * (its agents-connected step): a node whose agent is gone fails it, since kubeha could no longer change that node,
 * even when Kubernetes still sees it Ready.
 */
export async function verifyCommand(
  api: ApiClient,
  cluster: string,
  output: WatchOutput,
  options: WatchOptions & { watch: boolean; waitForAgents?: boolean; format: OutputFormat; now: () => number },
): Promise<number> {
  const started = await api.request<{ id: string }>('POST', `/v1/clusters/${encodeURIComponent(cluster)}/runs`, {
    kind: 'verify',
    ...(options.waitForAgents ? { waitForAgents: true } : {}),
  });
  const structured = isStructured(options.format);
  if (!structured) output.write(`verify run ${started.id} of ${cluster} started\n`);
  if (!options.watch) {
    if (structured) output.write(`${formatStructured(options.format as 'json' | 'yaml', { run: started })}\n`);
    return 0;
  }
  const followed = await followRun(api, started.id, output, options);
  if (followed.code === 130) return followed.code;
  const report = stepReport<HealthReportView>(followed.run, 'verify');
  const agents = stepReport<AgentsConnectedReport>(followed.run, 'agents-connected');
  const agentProblems = (agents?.nodes ?? [])
    .filter((n) => n.state !== 'connected')
    .map((n) => agentLine(n, options.now()));
  const ok = followed.code === 0;
  if (structured) {
    output.write(
      `${formatStructured(options.format as 'json' | 'yaml', { ok, run: followed.run, report: report ?? null, agents: agents ?? null, agentProblems })}\n`,
    );
  } else {
    const lines = report
      ? formatHealthReport(report)
      : ['cluster health: no report (the verify step did not run to its end)'];
    const total = agents?.nodes.length ?? 0;
    lines.push(
      agents
        ? `  agents:    ${agentProblems.length === 0 ? `all ${total} connected` : `${total - agentProblems.length}/${total} connected`}`
        : '  agents:    not checked (the run ended before its agents-connected step)',
      ...agentProblems.map((p) => `  problem: ${p}`),
    );
    output.write(`${lines.join('\n')}\nverify: ${ok ? 'ok' : 'FAILED'}\n`);
  }
  return ok ? 0 : 1;
}
