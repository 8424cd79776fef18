import type { ClusterPhase } from './cluster-phase.ts';

/** The smoothed result of the background probe (after fall/rise). */
export interface ProbeState {
  ok: boolean;
  /** Why, in words: "HTTP 200", "connect ECONNREFUSED 127.0.0.1:16443", ... */
  detail: string;
  /** When the last probe finished (ms since the epoch). */
  finishedAtMs: number;
}

export interface VrrpVerdict {
  healthy: boolean;
  /**
   * The agent cannot tell yet (no cluster phase, no probe result since it started): the endpoint answers 500 so the
   * check script probes the tier itself, and the track file keeps its last value. A restarting agent never moves the VIP.
   */
  unknown: boolean;
  reason: string;
  /** Age of the probe result behind the verdict; -1 when no probe result was used. */
  probeAgeMs: number;
}

/** What /healthz/vrrp answers: may this node hold the VIP? Pure, so every state is a table test. */
export function decideVrrpVerdict(
  phase: ClusterPhase | undefined,
  probe: ProbeState | undefined,
  nowMs: number,
  /** A result older than this is not trusted: the probe loop has stalled. */
  staleMs: number,
): VrrpVerdict {
  if (!phase)
    return {
      healthy: false,
      unknown: true,
      reason: 'the coordinator has not told this agent the cluster phase yet',
      probeAgeMs: -1,
    };
  if (phase.endpointMode === 'external') {
    return {
      healthy: false,
      unknown: false,
      reason: 'endpoint mode external: this cluster has no VIP of its own',
      probeAgeMs: -1,
    };
  }
  if (!phase.initialized) {
    return phase.initNode
      ? {
          healthy: true,
          unknown: false,
          reason: 'bootstrap: this node runs kubeadm init and holds the VIP',
          probeAgeMs: -1,
        }
      : {
          healthy: false,
          unknown: false,
          reason: 'bootstrap: waiting for kubeadm init on the init node',
          probeAgeMs: -1,
        };
  }
  if (!probe) return { healthy: false, unknown: true, reason: 'no probe result yet', probeAgeMs: -1 };
  const age = Math.max(0, nowMs - probe.finishedAtMs);
  if (age > staleMs) {
    return {
      healthy: false,
      unknown: false,
      reason: `probe result is stale: ${age} ms old (limit ${staleMs} ms)`,
      probeAgeMs: age,
    };
  }
  const tier = phase.endpointMode === 'haproxy-keepalived' ? 'local HAProxy' : 'local apiserver';
  return probe.ok
    ? { healthy: true, unknown: false, reason: `${tier} ready: ${probe.detail}`, probeAgeMs: age }
    : { healthy: false, unknown: false, reason: `${tier} not ready: ${probe.detail}`, probeAgeMs: age };
}

/**
 * The probe state to go on with when the coordinator's phase changes. Once kubeadm init has finished, what the probe
 * saw during bootstrap (failures while the apiserver was starting, unverified answers) stops counting: the verdict
 * goes on from what it was, and fall/rise count from the change. The init node, which held the VIP through
 * bootstrap, gives it up only after `fall` failed probes of the running cluster (a FAULT there at this moment leaves
 * no node with the VIP: the others have not joined); a node that may not hold it takes it only after `rise` good ones.
 * Undefined: keep the state as it is (no bootstrap ended).
 */
export function probeStateAfterPhaseChange(
  before: ClusterPhase | undefined,
  after: ClusterPhase,
  verdictBefore: VrrpVerdict,
  nowMs: number,
): ProbeState | undefined {
  const bootstrapEnded = before !== undefined && !before.initialized && after.initialized;
  if (!bootstrapEnded || verdictBefore.unknown) return undefined;
  return {
    ok: verdictBefore.healthy,
    detail: `carried over from bootstrap (${verdictBefore.reason}) until the probe says otherwise`,
    finishedAtMs: nowMs,
  };
}
