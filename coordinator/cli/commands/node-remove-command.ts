import { type ApiClient, ApiError } from '../api-client.ts';
import { confirmed } from '../confirm.ts';
import { formatStructured, isStructured } from '../output-format.ts';
import type { StartRunOptions } from './start-run-command.ts';
import { type WatchOutput, watchCommand } from './watch-command.ts';

/**
 * `kubeha node remove CLUSTER NAME [--dead]`: the applied spec without the node becomes the desired one and a deploy
 * run of it removes the node (drain, etcd member, Node, reset; docs/nodes.md), watched like apply's. Asks on a
 * terminal unless --yes. 1 when refused (the reason printed) or when the run fails.
 */
export async function nodeRemoveCommand(
  api: ApiClient,
  cluster: string,
  node: string,
  output: WatchOutput,
  options: StartRunOptions & { dead: boolean },
): Promise<number> {
  const err = options.err ?? ((text: string) => process.stderr.write(`${text}\n`));
  const warning = options.dead
    ? `remove node ${node} from cluster ${cluster} as dead: nothing is run on it; its Node is cordoned and deleted and, ` +
      'for a control plane, its etcd member removed through another control plane.'
    : `remove node ${node} from cluster ${cluster}: it is drained (its pods evicted), its Node deleted, and kubeadm ` +
      'reset run on it.';
  if (!(await confirmed(warning, options.terminal, options.yes))) {
    err(`kubeha: node ${node} not removed`);
    return 1;
  }
  const query = new URLSearchParams();
  if (options.dead) query.set('dead', 'true');
  if (options.waitForAgents) query.set('waitForAgents', 'true');
  const path = `/v1/clusters/${encodeURIComponent(cluster)}/nodes/${encodeURIComponent(node)}`;
  let run: { id: string };
  try {
    run = await api.request<{ id: string }>('DELETE', `${path}${query.size > 0 ? `?${query}` : ''}`);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 409 || error.status === 404)) {
      err(`kubeha: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const structured = isStructured(options.format);
  if (!structured) output.write(`removing node ${node} of ${cluster}: deploy run ${run.id} started\n`);
  if (!options.watch) {
    if (structured) output.write(`${formatStructured(options.format as 'json' | 'yaml', run)}\n`);
    return 0;
  }
  return watchCommand(api, run.id, output, options);
}
