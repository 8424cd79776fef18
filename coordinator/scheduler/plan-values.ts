import type { ClusterNodeSpec, ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { Store } from '../store/store.ts';
import { type Values, valueNames } from './cluster-values.ts';

/** The cluster value that holds a plan run's spec: a plan never replaces the cluster's desired spec. */
export function planSpecValueName(runId: string): string {
  return `plan-spec/${runId}`;
}

export function storedPlanSpec(store: Store, cluster: string, runId: string): ClusterSpec | undefined {
  const stored = store.clusterValues.get(cluster, planSpecValueName(runId));
  return stored ? (JSON.parse(stored.value) as ClusterSpec) : undefined;
}

/** The cluster value that holds the nodes a deploy run removes, as the applied spec described them when it started. */
export function removedNodesValueName(runId: string): string {
  return `removed-nodes/${runId}`;
}

/**
 * The nodes the run removes: kept with the run because the spec that described them (the applied one) changes when a
 * later deploy succeeds, and a resumed run must still reach the node it was removing.
 */
export function storedRemovedNodes(store: Store, cluster: string, runId: string): ClusterNodeSpec[] {
  const stored = store.clusterValues.get(cluster, removedNodesValueName(runId));
  return stored ? (JSON.parse(stored.value) as ClusterNodeSpec[]) : [];
}

const zeros = '0'.repeat(64);

/**
 * The values a dry run is sent with: the cluster's own where it has them (the load balancer's auth_pass of a
 * deployed cluster, so its dry run compares the real configuration), well-formed stand-ins where it does not yet
 * (the join token and CA hash that kubeadm init and the join credentials would make). A dry run only reads, so a
 * stand-in never reaches kubeadm or keepalived.
 */
export function dryRunValues(values: Values): Values {
  const standIn = (name: string): string | undefined => {
    if (name === valueNames.initToken || name.startsWith(valueNames.joinToken(''))) return 'dryrun.0000000000000000';
    if (name === valueNames.certificateKey) return zeros;
    if (name === valueNames.authPass) return 'dryrun00';
    if (name === valueNames.caCertHash) return `sha256:${zeros}`;
    return undefined;
  };
  return {
    get: (name) => {
      const own = values.get(name);
      if (own) return own;
      const value = standIn(name);
      return value === undefined ? undefined : { value, secret: true, updatedAt: 0 };
    },
  };
}
