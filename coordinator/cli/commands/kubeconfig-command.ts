import type { ApiClient } from '../api-client.ts';

/** Prints the cluster's admin kubeconfig, as the last kubeadm-init or verify step reported it. */
export async function kubeconfigCommand(api: ApiClient, cluster: string, out: (text: string) => void): Promise<number> {
  const { kubeconfig } = await api.request<{ kubeconfig: string }>(
    'GET',
    `/v1/clusters/${encodeURIComponent(cluster)}/kubeconfig`,
  );
  out(kubeconfig.trimEnd());
  return 0;
}
