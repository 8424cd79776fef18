// stand-in for kube-scheduler: behaves like kube-scheduler at its interface for the lab — it takes part in the
// leader election (Lease kube-system/kube-scheduler) while its local API server answers.
import { ClusterStore } from './cluster-store.ts';
import { readKubeconfig } from './kubeconfig.ts';
import { runLeaderElection } from './leader-election.ts';
import { readNodeIdentity } from './node-identity.ts';

const kubeconfigPath =
  process.argv.find((a) => a.startsWith('--kubeconfig='))?.slice(13) ?? '/etc/kubernetes/scheduler.conf';
const store = new ClusterStore(readNodeIdentity().clusterDir);
runLeaderElection({ store, kubeconfig: readKubeconfig(kubeconfigPath), leaseName: 'kube-scheduler' });
process.on('SIGTERM', () => process.exit(0));
