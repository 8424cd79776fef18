// Leader election as kube-controller-manager and kube-scheduler do it: a Lease in kube-system, taken when it has
// expired, renewed by its holder while the holder's local API server answers.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClusterStore } from './cluster-store.ts';
import { apiRequest, type Kubeconfig } from './kubeconfig.ts';

const leaseDurationSeconds = 15;

/** Holds or tries to take the lease; true while this process is the leader. */
export function electLeader(store: ClusterStore, leaseName: string, identity: string): boolean {
  const lease = store.get('leases', 'kube-system', leaseName);
  const spec = (lease?.['spec'] ?? {}) as { holderIdentity?: string; renewTime?: string; leaseTransitions?: number };
  const expired = !spec.renewTime || Date.parse(spec.renewTime) + leaseDurationSeconds * 1000 < Date.now();
  if (spec.holderIdentity !== identity && !expired) return false;
  store.put('leases', {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: leaseName, namespace: 'kube-system' },
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: new Date().toISOString(),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (spec.holderIdentity === identity ? 0 : 1),
    },
  });
  return true;
}

export function leaderIdentity(): string {
  return `${hostname()}_${randomBytes(16)
    .toString('hex')
    .replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5')}`;
}

/**
 * Takes part in the election of the lease every 2 s while the local API server answers /healthz, saying when it
 * becomes the leader as the real components do; `whileLeading` runs on every round this process leads.
 */
export function runLeaderElection(options: {
  store: ClusterStore;
  kubeconfig: Kubeconfig;
  leaseName: string;
  whileLeading?: () => void;
}): void {
  const { store, kubeconfig, leaseName } = options;
  const identity = leaderIdentity();
  let leading = false;
  setInterval(() => {
    apiRequest(kubeconfig, 'GET', '/healthz', undefined, 1500)
      .then((r) => r.status === 200)
      .catch(() => false)
      .then((healthy) => {
        const now = healthy && electLeader(store, leaseName, identity);
        if (now && !leading)
          process.stdout.write(`successfully acquired lease kube-system/${leaseName} as ${identity}\n`);
        leading = now;
        if (now) options.whileLeading?.();
      });
  }, 2000);
}
