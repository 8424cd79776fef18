// stand-in for kube-scheduler: behaves like kube-scheduler at its interface for the lab — it takes part in the
// leader election (Lease kube-system/kube-scheduler) while its local API server answers.
import { ClusterStore } from './cluster-store.ts';
import { apiRequest, readKubeconfig } from './kubeconfig.ts';
import { electLeader, leaderIdentity } from './leader-election.ts';
import { readNodeIdentity } from './node-identity.ts';

const kubeconfigPath =
  process.argv.find((a) => a.startsWith('--kubeconfig='))?.slice(13) ?? '/etc/kubernetes/scheduler.conf';
const store = new ClusterStore(readNodeIdentity().clusterDir);
const identity = leaderIdentity();
const kubeconfig = readKubeconfig(kubeconfigPath);
let leading = false;
setInterval(() => {
  apiRequest(kubeconfig, 'GET', '/healthz', undefined, 1500)
    .then((r) => r.status === 200)
    .catch(() => false)
    .then((healthy) => {
      const now = healthy && electLeader(store, 'kube-scheduler', identity);
      if (now && !leading)
        process.stdout.write(`successfully acquired lease kube-system/kube-scheduler as ${identity}\n`);
      leading = now;
    });
}, 2000);
process.on('SIGTERM', () => process.exit(0));
