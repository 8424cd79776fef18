// stand-in for kube-controller-manager: behaves like kube-controller-manager at its interface for the lab — it
// takes part in the leader election (Lease kube-system/kube-controller-manager) while its local API server
// answers, and as the leader runs the Deployment controller's visible effect: each Deployment's replicas as
// Running pods on Ready nodes.
import { createHash } from 'node:crypto';
import { ClusterStore, type KubeObject } from './cluster-store.ts';
import { readKubeconfig } from './kubeconfig.ts';
import { runLeaderElection } from './leader-election.ts';
import { readNodeIdentity } from './node-identity.ts';

const kubeconfigPath =
  process.argv.find((a) => a.startsWith('--kubeconfig='))?.slice(13) ?? '/etc/kubernetes/controller-manager.conf';
const store = new ClusterStore(readNodeIdentity().clusterDir);

const hash = (text: string) => createHash('sha256').update(text).digest('hex');

function ready(node: KubeObject): boolean {
  return ((node['status'] as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
}

function reconcileDeployments(): void {
  const nodes = store.list('nodes').filter(ready);
  if (nodes.length === 0) return;
  for (const deployment of store.list('deployments')) {
    const spec = (deployment['spec'] ?? {}) as {
      replicas?: number;
      selector?: { matchLabels?: Record<string, string> };
    };
    const namespace = deployment.metadata.namespace ?? 'default';
    for (let i = 0; i < (spec.replicas ?? 1); i++) {
      const name = `${deployment.metadata.name}-${hash(deployment.metadata.name).slice(0, 10)}-${hash(`${deployment.metadata.name}/${i}`).slice(0, 5)}`;
      const node = nodes[i % nodes.length]!;
      const existing = store.get('pods', namespace, name);
      const onReadyNode =
        existing && nodes.some((n) => n.metadata.name === (existing['spec'] as { nodeName?: string })?.nodeName);
      if (onReadyNode) continue;
      store.put('pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace, labels: spec.selector?.matchLabels ?? {} },
        spec: { nodeName: node.metadata.name },
        status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
      });
    }
  }
}

runLeaderElection({
  store,
  kubeconfig: readKubeconfig(kubeconfigPath),
  leaseName: 'kube-controller-manager',
  whileLeading: reconcileDeployments,
});
process.on('SIGTERM', () => process.exit(0));
