// stand-in for kubelet: `kubelet --version` prints the lab's Kubernetes version; the daemon talks to the real
// apiserver in a real-control-plane lab (kubelet-api.ts) and to the stand-in cluster store otherwise
// (kubelet-store.ts).
import { readFileSync } from 'node:fs';
import { requirePackage } from './package-database.ts';

requirePackage('kubelet', 'kubelet');
const identity = JSON.parse(readFileSync('/etc/khlab/node.json', 'utf8')) as {
  kubernetesVersion?: string;
  realControlPlane?: boolean;
};
if (process.argv.includes('--version')) {
  process.stdout.write(`Kubernetes v${identity.kubernetesVersion ?? '1.34.4'}\n`);
  process.exit(0);
}
if (identity.realControlPlane) await (await import('./kubelet-api.ts')).runKubelet();
else await import('./kubelet-store.ts');
