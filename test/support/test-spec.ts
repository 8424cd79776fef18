import type { ClusterSpec } from '../../coordinator/cluster-spec/cluster-spec.ts';
import { requireClusterSpec } from '../../coordinator/cluster-spec/parse-cluster-spec.ts';

/**
 * A valid cluster spec for plan and scheduler tests, parsed like a posted one (defaults filled in): Kubernetes
 * 1.31.4, the VIP 10.0.0.100 on eth0, cp1 (10.0.0.11) and w1 (10.0.0.21). Each field of `spec` replaces its default.
 */
export function testSpec(spec: Record<string, unknown> = {}, name = 'lab'): ClusterSpec {
  return requireClusterSpec({
    apiVersion: 'kubeha.io/v1',
    kind: 'Cluster',
    metadata: { name },
    spec: {
      kubernetesVersion: '1.34.4',
      endpoint: { vip: '10.0.0.100', interface: 'eth0' },
      nodes: [
        { name: 'cp1', address: '10.0.0.11', role: 'control-plane' },
        { name: 'w1', address: '10.0.0.21', role: 'worker' },
      ],
      ...spec,
    },
  });
}
