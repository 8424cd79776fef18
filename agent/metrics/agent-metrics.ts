import type { StepOutcome } from '../../common/step-events.ts';
import type { VrrpVerdict } from '../health/vrrp-verdict.ts';
import { HeldCounts, HeldObservations } from './held-observations.ts';

type PromClient = typeof import('prom-client');

/** What the agent's metrics read at scrape time; each part is attached by the piece that owns it. */
export interface AgentMetricSources {
  verdict?(): VrrpVerdict;
  holdsVip?(): boolean;
  spoolDepth?(): number;
  stepsRunning?(): number;
  sessionConnected?(): boolean;
}

export interface MetricsExposition {
  render(): Promise<{ contentType: string; body: string }>;
}

const probeBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const stepBuckets = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 900, 1800];

/**
 * The agent's Prometheus metrics, served on its health listener at /metrics. Nothing here runs on /healthz/vrrp:
 * gauges are read at scrape time, and observations (probe and step durations, reconnects) come from the probe loop,
 * the step executor and the session. prom-client is loaded at the first scrape, so an agent nobody scrapes does not
 * carry it; until then observations are held exactly (HeldObservations).
 */
export class AgentMetrics implements MetricsExposition {
  private readonly version: string;
  private sources: AgentMetricSources = {};
  private readonly heldProbes = new HeldObservations(probeBuckets);
  private readonly heldSteps = new HeldObservations(stepBuckets);
  private readonly heldReconnects = new HeldCounts();
  private sessionsEstablished = 0;
  private built: Promise<Built> | undefined;
  private live: Built | undefined;

  constructor(version: string) {
    this.version = version;
  }

  attach(sources: AgentMetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** One probe of the tier that owns the VIP (the health monitor's loop). */
  probeFinished(ok: boolean, seconds: number): void {
    const labels = { result: ok ? 'ok' : 'failed' };
    if (this.live) this.live.probeDuration.observe(labels, seconds);
    else this.heldProbes.observe(labels, seconds);
  }

  /** A step that ran for real (dry runs only read the machine and are not counted). */
  stepFinished(kind: string, outcome: StepOutcome, seconds: number): void {
    const labels = { kind, outcome };
    if (this.live) this.live.stepDuration.observe(labels, seconds);
    else this.heldSteps.observe(labels, seconds);
  }

  /** The session with the coordinator is up; every one after the first is a reconnect. */
  sessionEstablished(): void {
    this.sessionsEstablished++;
    if (this.sessionsEstablished === 1) return;
    if (this.live) this.live.reconnects.inc();
    else this.heldReconnects.inc();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    this.built ??= import('prom-client').then((client) => this.build(client));
    const built = await this.built;
    return { contentType: built.registry.contentType, body: await built.registry.metrics() };
  }

  private build(client: PromClient): Built {
    const registry = new client.Registry();
    const registers = [registry];
    const sources = () => this.sources;
    const version = this.version;
    new client.Gauge({
      name: 'kubeha_agent_info',
      help: 'Always 1; the agent version as a label',
      labelNames: ['version'],
      registers,
      collect() {
        this.set({ version }, 1);
      },
    });
    new client.Gauge({
      name: 'kubeha_agent_health_verdict',
      help: 'The VRRP verdict the health endpoint answers: 1 for the current one of healthy, unhealthy, unknown',
      labelNames: ['verdict'],
      registers,
      collect() {
        const verdict = sources().verdict?.();
        const current = !verdict || verdict.unknown ? 'unknown' : verdict.healthy ? 'healthy' : 'unhealthy';
        for (const v of ['healthy', 'unhealthy', 'unknown']) this.set({ verdict: v }, v === current ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'kubeha_agent_health_probe_age_seconds',
      help: 'Age of the probe result behind the verdict; -1 when none was used',
      registers,
      collect() {
        const age = sources().verdict?.().probeAgeMs ?? -1;
        this.set(age < 0 ? -1 : age / 1000);
      },
    });
    new client.Gauge({
      name: 'kubeha_agent_vip_held',
      help: '1 when the VIP is one of the addresses of this node',
      registers,
      collect() {
        this.set(sources().holdsVip?.() ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'kubeha_agent_result_spool_depth',
      help: 'Finished step results waiting for an acknowledgement from the coordinator',
      registers,
      collect() {
        this.set(sources().spoolDepth?.() ?? 0);
      },
    });
    new client.Gauge({
      name: 'kubeha_agent_steps_running',
      help: 'Steps running on this node now',
      registers,
      collect() {
        this.set(sources().stepsRunning?.() ?? 0);
      },
    });
    new client.Gauge({
      name: 'kubeha_agent_session_connected',
      help: '1 while the session with the coordinator is up',
      registers,
      collect() {
        this.set(sources().sessionConnected?.() ? 1 : 0);
      },
    });
    const probeDuration = new client.Histogram({
      name: 'kubeha_agent_health_probe_duration_seconds',
      help: 'Duration of one probe of the tier that owns the VIP (/readyz through the port of the VIP), by result',
      labelNames: ['result'],
      buckets: probeBuckets,
      registers,
    });
    const stepDuration = new client.Histogram({
      name: 'kubeha_agent_step_duration_seconds',
      help: 'Duration of the steps this agent ran, by step kind and outcome',
      labelNames: ['kind', 'outcome'],
      buckets: stepBuckets,
      registers,
    });
    const reconnects = new client.Counter({
      name: 'kubeha_agent_session_reconnects_total',
      help: 'Sessions with the coordinator established again after the first one',
      registers,
    });
    client.collectDefaultMetrics({ register: registry });
    this.heldProbes.replay((labels, value) => probeDuration.observe(labels, value));
    this.heldSteps.replay((labels, value) => stepDuration.observe(labels, value));
    this.heldReconnects.replay((_labels, count) => reconnects.inc(count));
    const built = { registry, probeDuration, stepDuration, reconnects };
    this.live = built;
    return built;
  }
}

interface Built {
  registry: import('prom-client').Registry;
  probeDuration: import('prom-client').Histogram<'result'>;
  stepDuration: import('prom-client').Histogram<'kind' | 'outcome'>;
  reconnects: import('prom-client').Counter;
}
