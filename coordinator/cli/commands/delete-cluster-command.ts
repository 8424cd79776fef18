import type { ApiClient } from '../api-client.ts';
import { type ConfirmTerminal, confirmed } from '../confirm.ts';

/**
 * `kubeha delete cluster NAME`: the coordinator forgets the cluster and its runs; the nodes are left as they are
 * (kubeha reset first to undo them). Asks on a terminal unless --yes.
 */
export async function deleteClusterCommand(
  api: ApiClient,
  name: string,
  out: (text: string) => void,
  err: (text: string) => void,
  options: { yes: boolean; terminal: ConfirmTerminal },
): Promise<number> {
  await api.request('GET', `/v1/clusters/${encodeURIComponent(name)}`);
  const warning =
    `delete cluster ${name}: the coordinator forgets its spec and every run; the nodes keep running as they are ` +
    `(kubeha reset ${name} first to wipe them).`;
  if (!(await confirmed(warning, options.terminal, options.yes))) {
    err(`kubeha: cluster ${name} not deleted`);
    return 1;
  }
  await api.request('DELETE', `/v1/clusters/${encodeURIComponent(name)}`);
  out(`cluster ${name} deleted (its nodes are left as they are)`);
  return 0;
}
