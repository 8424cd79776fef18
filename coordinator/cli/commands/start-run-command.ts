import type { ApiClient } from '../api-client.ts';
import { type ConfirmTerminal, confirmed } from '../confirm.ts';
import { formatStructured, isStructured, type OutputFormat } from '../output-format.ts';
import { type WatchOptions, type WatchOutput, watchCommand } from './watch-command.ts';

/** What each run kind does that cannot be taken back, asked before it starts on a terminal. */
const warnings: Partial<Record<string, (cluster: string) => string>> = {
  reset: (cluster) =>
    `reset runs kubeadm reset on every node of cluster ${cluster}: their Kubernetes state, etcd data and certificates are wiped.`,
  'drill-failover': (cluster) =>
    `drill failover stops keepalived, haproxy and then the API server on the VIP holder of cluster ${cluster}, one after another: the API endpoint is down for seconds each time.`,
  'etcd-restore': (cluster) =>
    `etcd restore stops the API servers and etcd of cluster ${cluster} and restores etcd from the snapshot: every change made to the cluster since the snapshot was taken is rolled back.`,
};

export interface StartRunOptions extends WatchOptions {
  watch: boolean;
  waitForAgents?: boolean;
  format: OutputFormat;
  yes: boolean;
  terminal: ConfirmTerminal;
}

/**
 * Starts a run of the cluster and watches it; a run that changes the cluster for good (reset, a failover drill)
 * first asks on a terminal unless --yes. Returns the exit code and the started run's ID (undefined when declined).
 */
export async function startRun(
  api: ApiClient,
  cluster: string,
  kind: 'verify' | 'drill-failover' | 'reset' | 'certs-renew' | 'etcd-snapshot' | 'etcd-restore',
  output: WatchOutput,
  options: StartRunOptions,
  body: { snapshot?: string; force?: boolean } = {},
): Promise<{ code: number; runId?: string }> {
  const warning = warnings[kind]?.(cluster);
  if (warning && !(await confirmed(warning, options.terminal, options.yes))) {
    options.err?.(`kubeha: ${kind} of ${cluster} not started`);
    return { code: 1 };
  }
  const run = await api.request<{ id: string }>('POST', `/v1/clusters/${encodeURIComponent(cluster)}/runs`, {
    kind,
    ...(options.waitForAgents ? { waitForAgents: true } : {}),
    ...body,
  });
  const structured = isStructured(options.format);
  if (!structured) output.write(`${kind} run ${run.id} of ${cluster} started\n`);
  if (!options.watch) {
    if (structured) output.write(`${formatStructured(options.format as 'json' | 'yaml', run)}\n`);
    return { code: 0, runId: run.id };
  }
  return { code: await watchCommand(api, run.id, output, options), runId: run.id };
}
