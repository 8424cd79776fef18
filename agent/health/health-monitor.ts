import { networkInterfaces } from 'node:os';
import type { Logger } from '../../common/logger.ts';
import { type ClusterPhase, tierUrl } from './cluster-phase.ts';
import { KeptAliveConnection, probeTier, type TierProbeOptions, type TierProbeResult } from './tier-probe.ts';
import { decideVrrpVerdict, type ProbeState, probeStateAfterPhaseChange, type VrrpVerdict } from './vrrp-verdict.ts';

export interface HealthMonitorOptions {
  probeIntervalMs: number;
  /** Default: 1000 ms. */
  probeTimeoutMs?: number;
  /** Consecutive failed probes before the tier counts as failing (default 2) and successes before it recovers (2). */
  fall?: number;
  rise?: number;
  /**
   * After a failed probe of a healthy tier, the next one runs this soon (default 100 ms) instead of a whole interval
   * later: the failure is confirmed, or cleared, without waiting, so detection takes about half an interval plus this.
   */
  confirmAfterMs?: number;
  initialPhase?: ClusterPhase;
  /** Mode haproxy-keepalived: tries per probe, so one unready apiserver behind HAProxy never fails it (default 3). */
  haproxyAttempts?: number;
  logger?: Logger;
  /** Called with every change of a known verdict: the agent writes keepalived's track file. */
  onVerdictChange?: (verdict: VrrpVerdict) => void;
  /** Called when the coordinator sends a different phase: the agent saves it for its next start. */
  onPhaseChange?: (phase: ClusterPhase) => void;
  probe?: (url: string, caPem: string, timeoutMs: number, options?: TierProbeOptions) => Promise<TierProbeResult>;
  now?: () => number;
  localAddresses?: () => string[];
}

function allLocalAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

/** The background probe of the tier that owns the VIP, and the cached verdict the health endpoint answers from. */
export class HealthMonitor {
  readonly probeIntervalMs: number;
  private readonly options: HealthMonitorOptions;
  private readonly probe: NonNullable<HealthMonitorOptions['probe']>;
  private readonly now: () => number;
  private phase: ClusterPhase | undefined;
  private state: ProbeState | undefined;
  private failures = 0;
  private successes = 0;
  private inFlight: Promise<void> | undefined;
  private phaseGeneration = 0;
  private timer: NodeJS.Timeout | undefined;
  private confirmTimer: NodeJS.Timeout | undefined;
  /** While running: the periodic probe's own connection, whose loss triggers a probe at once. */
  private connection: KeptAliveConnection | undefined;
  private lastTickMs = 0;
  private lastHealthy: boolean | undefined;
  private vipCache: { vip: string; atMs: number; held: boolean } | undefined;
  private lastHeld: boolean | undefined;
  private readonly vipListeners: ((held: boolean) => void)[] = [];

  constructor(options: HealthMonitorOptions) {
    this.options = options;
    this.probeIntervalMs = options.probeIntervalMs;
    this.probe = options.probe ?? probeTier;
    this.now = options.now ?? Date.now;
    this.phase = options.initialPhase;
  }

  start(): void {
    if (this.timer) return;
    this.connection = new KeptAliveConnection({
      onLost: () => {
        if (this.timer) void this.probeNow();
      },
    });
    this.tick();
    this.timer = setInterval(() => this.tick(), this.probeIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.confirmTimer);
    this.timer = undefined;
    this.connection?.close();
    this.connection = undefined;
    await this.inFlight;
  }

  get clusterPhase(): ClusterPhase | undefined {
    return this.phase;
  }

  setPhase(phase: ClusterPhase): void {
    const before = this.phase;
    const carried = probeStateAfterPhaseChange(before, phase, this.verdict(), this.now());
    if (carried) {
      // A probe still in flight was asked under bootstrap: its answer must not count against the carried verdict.
      this.phaseGeneration++;
      this.state = carried;
      this.failures = 0;
      this.successes = 0;
    }
    this.phase = phase;
    if (JSON.stringify(before) !== JSON.stringify(phase)) {
      this.options.logger?.info(
        { cluster: phase.cluster, initialized: phase.initialized, initNode: phase.initNode, mode: phase.endpointMode },
        'cluster phase changed',
      );
      this.options.onPhaseChange?.(phase);
    }
    this.publish();
    if (this.timer) void this.probeNow();
  }

  verdict(): VrrpVerdict {
    return decideVrrpVerdict(this.phase, this.state, this.now(), this.staleAfterMs());
  }

  /**
   * How old a probe result may be before the loop counts as stalled: the longest a probe may legitimately take (every
   * attempt timing out) plus two intervals. Tighter, a slow but healthy tier on a busy node would move the VIP.
   */
  staleAfterMs(): number {
    const attempts = this.phase?.endpointMode === 'haproxy-keepalived' ? this.haproxyAttempts() : 1;
    return attempts * this.probeTimeoutMs() + 2 * this.probeIntervalMs;
  }

  private haproxyAttempts(): number {
    return this.options.haproxyAttempts ?? 3;
  }

  private probeTimeoutMs(): number {
    return this.options.probeTimeoutMs ?? 1000;
  }

  /** True when the VIP is one of this node's addresses (looked up at most every 250 ms: the endpoint asks often). */
  holdsVip(): boolean {
    const vip = this.phase?.vip;
    if (!vip) return false;
    const now = this.now();
    if (this.vipCache?.vip !== vip || now - this.vipCache.atMs >= 250) {
      this.vipCache = { vip, atMs: now, held: (this.options.localAddresses ?? allLocalAddresses)().includes(vip) };
    }
    return this.vipCache.held;
  }

  /** Called when this node gains or loses the VIP (checked every probe interval), so the coordinator hears it at once. */
  onVipHeldChange(listener: (held: boolean) => void): void {
    this.vipListeners.push(listener);
  }

  /** Whether the probe loop is alive: the last tick is at most three intervals old. */
  loopAlive(): boolean {
    return this.timer !== undefined && this.now() - this.lastTickMs <= 3 * this.probeIntervalMs;
  }

  /** Runs one probe now (or waits for the one in flight) and updates the verdict. */
  probeNow(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const phase = this.phase;
    if (!phase || phase.endpointMode === 'external') return Promise.resolve();
    const generation = this.phaseGeneration;
    const run = this.probeTierOnce(phase).then(
      (result) => {
        if (generation === this.phaseGeneration) this.record(result);
      },
      (error: unknown) => {
        if (generation === this.phaseGeneration) this.record({ ok: false, detail: String(error) });
      },
    );
    this.inFlight = run.finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Through HAProxy each attempt reaches the next apiserver (round robin), so a failed answer is retried up to
   * `haproxyAttempts` times, each on a new connection: the VIP stays while any apiserver is ready. A dead HAProxy
   * fails every attempt at once. The first attempt goes over the kept-alive connection.
   */
  private async probeTierOnce(phase: ClusterPhase): Promise<TierProbeResult> {
    const attempts = phase.endpointMode === 'haproxy-keepalived' ? this.haproxyAttempts() : 1;
    let result: TierProbeResult = { ok: false, detail: 'not probed' };
    for (let i = 0; i < attempts; i++) {
      const reuse = i === 0 ? this.connection : undefined;
      result = await this.probe(tierUrl(phase), phase.clusterCaPem, this.probeTimeoutMs(), reuse ? { reuse } : {});
      if (reuse && !result.ok) reuse.drop();
      if (result.ok || /ECONNREFUSED/.test(result.detail)) return result;
    }
    return result;
  }

  private tick(): void {
    this.lastTickMs = this.now();
    this.publish();
    const held = this.holdsVip();
    if (this.lastHeld !== undefined && held !== this.lastHeld) for (const listener of this.vipListeners) listener(held);
    this.lastHeld = held;
    void this.probeNow();
  }

  private record(result: TierProbeResult): void {
    const fall = this.options.fall ?? 2;
    const rise = this.options.rise ?? 2;
    if (result.ok) {
      this.successes++;
      this.failures = 0;
    } else {
      this.failures++;
      this.successes = 0;
    }
    // The first result counts at once; afterwards fall/rise consecutive results are needed to change.
    const ok = this.state === undefined ? result.ok : this.state.ok ? this.failures < fall : this.successes >= rise;
    this.state = { ok, detail: result.detail, finishedAtMs: this.now() };
    this.publish();
    if (ok && !result.ok && this.timer) this.confirmSoon();
  }

  private confirmSoon(): void {
    clearTimeout(this.confirmTimer);
    this.confirmTimer = setTimeout(() => {
      this.confirmTimer = undefined;
      if (this.timer) void this.probeNow();
    }, this.options.confirmAfterMs ?? 100);
  }

  private publish(): void {
    const verdict = this.verdict();
    if (verdict.unknown || verdict.healthy === this.lastHealthy) return;
    this.lastHealthy = verdict.healthy;
    this.options.logger?.info({ healthy: verdict.healthy, reason: verdict.reason }, 'VRRP verdict changed');
    this.options.onVerdictChange?.(verdict);
  }
}
