import type { ApiClient } from '../api-client.ts';
import { type WatchOutput, watchCommand } from './watch-command.ts';

/** Starts a run of the cluster (`kubeha drill failover CLUSTER` starts a drill-failover run) and watches it. */
export async function startRunCommand(
  api: ApiClient,
  cluster: string,
  kind: 'deploy' | 'verify' | 'drill-failover' | 'reset',
  output: WatchOutput,
  options: { watch: boolean; waitForAgents?: boolean },
): Promise<number> {
  const run = await api.request<{ id: string }>('POST', `/v1/clusters/${encodeURIComponent(cluster)}/runs`, {
    kind,
    ...(options.waitForAgents ? { waitForAgents: true } : {}),
  });
  output.write(`${kind} run ${run.id} of ${cluster} started\n`);
  return options.watch ? watchCommand(api, run.id, output) : 0;
}
