// Leader election as kube-controller-manager and kube-scheduler do it: a Lease in kube-system, taken when it has
// expired, renewed by its holder while the holder's local API server answers.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClusterStore } from './cluster-store.ts';

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
