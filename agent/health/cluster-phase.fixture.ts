import type { ClusterPhase } from './cluster-phase.ts';

/** The phase a control plane other than the init node is told once its cluster is initialized; tests change a part. */
export function initializedPhase(changes: Partial<ClusterPhase> = {}): ClusterPhase {
  return {
    cluster: 'prod-a',
    initialized: true,
    initNode: false,
    endpointMode: 'haproxy-keepalived',
    lbPort: 16443,
    vip: '10.0.0.6',
    clusterCaPem: '',
    ...changes,
  };
}
