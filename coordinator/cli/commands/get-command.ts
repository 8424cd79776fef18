import type { AgentDetail } from '../../api/routes/agents-routes.ts';
import type { ClusterDetail } from '../../api/routes/clusters-routes.ts';
import type { RunDetail, RunStepDetail, RunSummary } from '../../api/routes/runs-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { formatStructured, type OutputFormat, printList } from '../output-format.ts';
import { ago } from '../table.ts';

type ClusterView = ClusterDetail;

type RunView = RunSummary;

function duration(from: string, to: string | null, now: number): string {
  const seconds = Math.max(0, Math.round(((to ? Date.parse(to) : now) - Date.parse(from)) / 1000));
  return seconds < 120 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

export async function getClustersCommand(
  api: ApiClient,
  out: (text: string) => void,
  format: OutputFormat,
): Promise<number> {
  const { clusters } = await api.request<{ clusters: ClusterView[] }>('GET', '/v1/clusters');
  return printList(out, format, clusters, {
    header: (wide) => [
      'NAME',
      'ENDPOINT',
      'NODES',
      'AGENTS',
      'INITIALIZED',
      'LAST RUN',
      ...(wide ? ['UP TO DATE', 'APPLIED'] : []),
    ],
    row: (c, wide) => [
      c.name,
      c.endpoint,
      String(c.nodes.length),
      `${c.nodes.filter((n) => n.connected).length}/${c.nodes.length}`,
      c.initialized ? 'yes' : 'no',
      c.lastRun ? `${c.lastRun.kind} ${c.lastRun.state} (${c.lastRun.id})` : '-',
      ...(wide
        ? [c.appliedSpec === null ? 'never applied' : c.differences.length === 0 ? 'yes' : 'no', c.appliedAt ?? '-']
        : []),
    ],
  });
}

/**
 * `kubeha get cluster NAME`: the desired spec, the applied one (of the last deploy that succeeded) and where they
 * differ; YAML unless `-o json`.
 */
export async function getClusterCommand(
  api: ApiClient,
  out: (text: string) => void,
  name: string,
  format: OutputFormat,
): Promise<number> {
  const c = await api.request<ClusterDetail>('GET', `/v1/clusters/${encodeURIComponent(name)}`);
  const view = {
    name: c.name,
    endpoint: c.endpoint,
    initialized: c.initialized,
    lastRun: c.lastRun ? { id: c.lastRun.id, kind: c.lastRun.kind, state: c.lastRun.state } : null,
    appliedAt: c.appliedAt,
    upToDate: c.appliedSpec !== null && c.differences.length === 0,
    differences: c.differences.map((d) => ({ path: d.path, applied: d.applied ?? null, desired: d.desired ?? null })),
    desiredSpec: c.spec,
    appliedSpec: c.appliedSpec,
  };
  out(formatStructured(format === 'json' ? 'json' : 'yaml', view));
  return 0;
}

/** What an agent's last heartbeat said of its health; "unknown" once it is offline (the report is stale). */
export function healthVerdict(agent: AgentDetail | undefined): string {
  if (!agent) return '-';
  if (!agent.connected) return 'unknown';
  if (!agent.health) return '-';
  if (!agent.health.agentOk) return 'unhealthy (agent)';
  return agent.health.vrrpHealthy ? 'healthy' : `unhealthy (${agent.health.vrrpReason || 'vrrp check'})`;
}

/** The step of the node that moved last in the run: what it did or does now. */
export function lastStepOf(run: RunDetail | undefined, node: string): RunStepDetail | undefined {
  const at = (s: RunStepDetail) => Date.parse(s.finishedAt ?? s.startedAt ?? s.dispatchedAt ?? '') || 0;
  return run?.steps
    .filter((s) => s.node === node && s.dispatchedAt !== null)
    .reduce<RunStepDetail | undefined>((last, s) => (!last || at(s) >= at(last) ? s : last), undefined);
}

export interface NodeView {
  cluster: string;
  name: string;
  address: string;
  role: string;
  agentId: string | null;
  hostname: string | null;
  agentState: 'connected' | 'offline' | 'revoked' | 'no agent';
  lastHeartbeatAt: string | null;
  health: string;
  holdsVip: boolean;
  bound: boolean;
  lastStep: { runId: string; id: string; state: string; error: string | null } | null;
}

/** The nodes of one cluster (or of all) with their agents' state and health and each node's last step. */
export async function nodeViews(api: ApiClient, cluster: string | undefined): Promise<NodeView[]> {
  const clusters = cluster
    ? [await api.request<ClusterView>('GET', `/v1/clusters/${encodeURIComponent(cluster)}`)]
    : (await api.request<{ clusters: ClusterView[] }>('GET', '/v1/clusters')).clusters;
  const { agents } = await api.request<{ agents: AgentDetail[] }>('GET', '/v1/agents');
  const agentById = new Map(agents.map((a) => [a.id, a]));
  const views: NodeView[] = [];
  for (const c of clusters) {
    const run = c.lastRun
      ? await api.request<RunDetail>('GET', `/v1/runs/${encodeURIComponent(c.lastRun.id)}`).catch(() => undefined)
      : undefined;
    for (const n of c.nodes) {
      const agent = n.agentId ? agentById.get(n.agentId) : undefined;
      const step = lastStepOf(run, n.name);
      views.push({
        cluster: c.name,
        name: n.name,
        address: n.address,
        role: n.role,
        agentId: n.agentId,
        hostname: n.hostname,
        agentState: !n.agentId ? 'no agent' : agent?.revoked ? 'revoked' : n.connected ? 'connected' : 'offline',
        lastHeartbeatAt: agent?.lastHeartbeatAt ?? null,
        health: healthVerdict(agent),
        holdsVip: n.holdsVip,
        bound: n.bound,
        lastStep:
          step && run
            ? {
                runId: run.id,
                id: step.id,
                state: step.state,
                error: step.error ? firstLine(step.error.message) : null,
              }
            : null,
      });
    }
  }
  return views;
}

const firstLine = (text: string) => text.split('\n', 1)[0] ?? '';

export async function getNodesCommand(
  api: ApiClient,
  out: (text: string) => void,
  cluster: string | undefined,
  format: OutputFormat,
  now: number,
): Promise<number> {
  const nodes = await nodeViews(api, cluster);
  return printList(out, format, nodes, {
    header: (wide) => [
      'CLUSTER',
      'NODE',
      'ROLE',
      'AGENT',
      'HEARTBEAT',
      'HEALTH',
      'VIP',
      'LAST STEP',
      ...(wide ? ['ADDRESS', 'AGENT ID', 'HOSTNAME', 'BOUND', 'LAST RUN'] : []),
    ],
    row: (n, wide) => [
      n.cluster,
      n.name,
      n.role,
      n.agentState,
      n.agentId ? ago(n.lastHeartbeatAt, now) : '-',
      n.health,
      n.holdsVip ? 'yes' : '',
      n.lastStep ? `${n.lastStep.id} ${n.lastStep.state}` : '-',
      ...(wide
        ? [n.address, n.agentId ?? '-', n.hostname ?? '-', n.bound ? 'yes' : 'no', n.lastStep?.runId ?? '-']
        : []),
    ],
  });
}

export async function getRunsCommand(
  api: ApiClient,
  out: (text: string) => void,
  cluster: string | undefined,
  now: number,
  format: OutputFormat,
): Promise<number> {
  const query = cluster ? `?cluster=${encodeURIComponent(cluster)}` : '';
  const { runs } = await api.request<{ runs: RunView[] }>('GET', `/v1/runs${query}`);
  return printList(out, format, runs, {
    header: (wide) => ['ID', 'CLUSTER', 'KIND', 'STATE', 'STARTED', 'DURATION', ...(wide ? ['ERROR'] : [])],
    row: (r, wide) => [
      r.id,
      r.cluster,
      r.kind,
      r.state,
      r.createdAt,
      duration(r.createdAt, r.finishedAt, now),
      ...(wide ? [r.error ? firstLine(r.error) : ''] : []),
    ],
  });
}
