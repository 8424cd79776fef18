import { stringify as toYaml } from 'yaml';
import type { ClusterDetail } from '../../api/routes/clusters-routes.ts';
import type { RunSummary } from '../../api/routes/runs-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { renderTable } from '../table.ts';

type ClusterView = ClusterDetail;

type RunView = RunSummary;

function duration(from: string, to: string | null, now: number): string {
  const seconds = Math.max(0, Math.round(((to ? Date.parse(to) : now) - Date.parse(from)) / 1000));
  return seconds < 120 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

export async function getClustersCommand(api: ApiClient, out: (text: string) => void, json: boolean): Promise<number> {
  const { clusters } = await api.request<{ clusters: ClusterView[] }>('GET', '/v1/clusters');
  if (json) {
    out(JSON.stringify(clusters, null, 2));
    return 0;
  }
  out(
    renderTable(
      ['NAME', 'ENDPOINT', 'NODES', 'AGENTS', 'INITIALIZED', 'LAST RUN'],
      clusters.map((c) => [
        c.name,
        c.endpoint,
        String(c.nodes.length),
        `${c.nodes.filter((n) => n.connected).length}/${c.nodes.length}`,
        c.initialized ? 'yes' : 'no',
        c.lastRun ? `${c.lastRun.kind} ${c.lastRun.state} (${c.lastRun.id})` : '-',
      ]),
    ),
  );
  return 0;
}

/**
 * `kubeha get cluster NAME`: the desired spec, the applied one (of the last deploy that succeeded) and where they
 * differ; YAML unless `-o json`.
 */
export async function getClusterCommand(
  api: ApiClient,
  out: (text: string) => void,
  name: string,
  format: 'yaml' | 'json',
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
  out(format === 'json' ? JSON.stringify(view, null, 2) : toYaml(view).trimEnd());
  return 0;
}

export async function getNodesCommand(
  api: ApiClient,
  out: (text: string) => void,
  cluster: string | undefined,
  json: boolean,
): Promise<number> {
  const clusters = cluster
    ? [await api.request<ClusterView>('GET', `/v1/clusters/${encodeURIComponent(cluster)}`)]
    : (await api.request<{ clusters: ClusterView[] }>('GET', '/v1/clusters')).clusters;
  const rows = clusters.flatMap((c) =>
    c.nodes.map((n) => [
      c.name,
      n.name,
      n.address,
      n.role,
      n.agentId ?? '-',
      n.agentId ? (n.connected ? 'connected' : 'offline') : 'no agent',
      n.holdsVip ? 'yes' : '',
    ]),
  );
  if (json) {
    out(
      JSON.stringify(
        clusters.flatMap((c) => c.nodes.map((n) => ({ cluster: c.name, ...n }))),
        null,
        2,
      ),
    );
    return 0;
  }
  out(renderTable(['CLUSTER', 'NODE', 'ADDRESS', 'ROLE', 'AGENT', 'STATE', 'VIP'], rows));
  return 0;
}

export async function getRunsCommand(
  api: ApiClient,
  out: (text: string) => void,
  cluster: string | undefined,
  now: number,
  json: boolean,
): Promise<number> {
  const query = cluster ? `?cluster=${encodeURIComponent(cluster)}` : '';
  const { runs } = await api.request<{ runs: RunView[] }>('GET', `/v1/runs${query}`);
  if (json) {
    out(JSON.stringify(runs, null, 2));
    return 0;
  }
  out(
    renderTable(
      ['ID', 'CLUSTER', 'KIND', 'STATE', 'STARTED', 'DURATION'],
      runs.map((r) => [r.id, r.cluster, r.kind, r.state, r.createdAt, duration(r.createdAt, r.finishedAt, now)]),
    ),
  );
  return 0;
}
