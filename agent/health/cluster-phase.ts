import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { ClusterPhase, EndpointMode } from '../../proto/convert.ts';
import type { ClusterPhase__Output } from '../../proto/generated/kubeha/v1/ClusterPhase.ts';

export type { ClusterPhase, EndpointMode };

const modes: readonly string[] = ['haproxy-keepalived', 'keepalived', 'external'];

export function clusterPhaseFromProto(message: ClusterPhase__Output): ClusterPhase {
  if (!modes.includes(message.endpoint_mode)) {
    throw new KubehaError(
      ErrorCode.paramsInvalid,
      `ClusterPhase.endpoint_mode: "${message.endpoint_mode}" is not one of ${modes.join(', ')}`,
    );
  }
  return {
    cluster: message.cluster,
    initialized: message.initialized,
    initNode: message.init_node,
    endpointMode: message.endpoint_mode as EndpointMode,
    lbPort: message.lb_port || 16443,
    vip: message.vip,
    clusterCaPem: message.cluster_ca_pem,
  };
}

/** Parses the saved phase; undefined when the text is not one. */
export function parseSavedClusterPhase(text: string): ClusterPhase | undefined {
  try {
    const value = JSON.parse(text) as Partial<ClusterPhase>;
    if (
      typeof value.cluster !== 'string' ||
      typeof value.initialized !== 'boolean' ||
      typeof value.initNode !== 'boolean' ||
      !modes.includes(value.endpointMode ?? '') ||
      typeof value.lbPort !== 'number' ||
      typeof value.vip !== 'string' ||
      typeof value.clusterCaPem !== 'string'
    ) {
      return undefined;
    }
    return value as ClusterPhase;
  } catch {
    return undefined;
  }
}

/** The URL of the tier that owns the VIP: the local HAProxy in front of every apiserver, or the local apiserver. */
export function tierUrl(phase: Pick<ClusterPhase, 'endpointMode' | 'lbPort'>): string {
  return phase.endpointMode === 'haproxy-keepalived'
    ? `https://127.0.0.1:${phase.lbPort}/readyz`
    : 'https://127.0.0.1:6443/readyz';
}
