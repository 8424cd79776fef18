import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ErrorCode } from '../../common/errors.ts';
import type { StepOutcome } from '../../common/step-events.ts';
import type { SchedulerObserver } from '../scheduler/scheduler-observer.ts';

/** What the coordinator's metrics read at scrape time. */
export interface CoordinatorMetricSources {
  connectedAgents(): number;
  enrolledAgents(): number;
  runsByKindAndState(): { kind: string; state: string; count: number }[];
  sseClients(): number;
  /** Reported certificates by expiry level (ok, warning, critical, expired); absent sources report nothing. */
  certificatesByLevel?(): Record<string, number>;
  /** Seconds until the soonest reported certificate expires; undefined when none is reported. */
  soonestCertificateExpirySeconds?(): number | undefined;
}

const fastBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const stepBuckets = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 900, 1800];
const knownErrorCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * The coordinator's Prometheus metrics (GET /metrics on the API listener). Labels are bounded: step and run kinds
 * come from the planner, error codes from the ErrorCode catalogue (an agent reporting another code counts as
 * "other"); never a node, address, agent or run id.
 */
export class CoordinatorMetrics implements SchedulerObserver {
  readonly registry = new Registry();
  private readonly schedulerPass: Histogram;
  private readonly stepDuration: Histogram<'kind' | 'outcome'>;
  private readonly retries: Counter<'kind'>;
  private readonly failures: Counter<'kind' | 'code'>;
  private readonly storeTransaction: Histogram<'outcome'>;

  constructor(version: string, sources: CoordinatorMetricSources) {
    const registers = [this.registry];
    new Gauge({
      name: 'kubeha_coordinator_info',
      help: 'Always 1; the coordinator version as a label',
      labelNames: ['version'],
      registers,
      collect() {
        this.set({ version }, 1);
      },
    });
    new Gauge({
      name: 'kubeha_agents_connected',
      help: 'Agents with an open session',
      registers,
      collect() {
        this.set(sources.connectedAgents());
      },
    });
    new Gauge({
      name: 'kubeha_agents_enrolled',
      help: 'Agents enrolled and not revoked',
      registers,
      collect() {
        this.set(sources.enrolledAgents());
      },
    });
    new Gauge({
      name: 'kubeha_runs',
      help: 'Runs in the store, by kind and state',
      labelNames: ['kind', 'state'],
      registers,
      collect() {
        this.reset();
        for (const { kind, state, count } of sources.runsByKindAndState()) this.set({ kind, state }, count);
      },
    });
    new Gauge({
      name: 'kubeha_api_sse_clients',
      help: 'Open run event streams (kubeha watch, kubeha apply, other SSE readers)',
      registers,
      collect() {
        this.set(sources.sseClients());
      },
    });
    new Gauge({
      name: 'kubeha_certificates',
      help: "Certificates the agents reported (kubeadm's and the kubelet's), by expiry level: ok, warning, critical, expired",
      labelNames: ['level'],
      registers,
      collect() {
        this.reset();
        for (const [level, count] of Object.entries(sources.certificatesByLevel?.() ?? {})) this.set({ level }, count);
      },
    });
    new Gauge({
      name: 'kubeha_certificate_soonest_expiry_seconds',
      help: 'Seconds until the first reported certificate expires (negative once expired); GET /v1/clusters/NAME/certificates says which',
      registers,
      collect() {
        this.reset();
        const seconds = sources.soonestCertificateExpirySeconds?.();
        if (seconds !== undefined) this.set(seconds);
      },
    });
    this.schedulerPass = new Histogram({
      name: 'kubeha_scheduler_pass_duration_seconds',
      help: 'One scheduler pass over the unfinished runs',
      buckets: fastBuckets,
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'kubeha_step_duration_seconds',
      help: 'Step attempts from dispatch to result, by step kind and outcome',
      labelNames: ['kind', 'outcome'],
      buckets: stepBuckets,
      registers,
    });
    this.retries = new Counter({
      name: 'kubeha_step_retries_total',
      help: 'Failed step attempts that are retried, by step kind',
      labelNames: ['kind'],
      registers,
    });
    this.failures = new Counter({
      name: 'kubeha_step_failures_total',
      help: 'Failed step attempts (retried or not), by step kind and error code',
      labelNames: ['kind', 'code'],
      registers,
    });
    this.storeTransaction = new Histogram({
      name: 'kubeha_store_transaction_duration_seconds',
      help: 'Write transactions of the store, from BEGIN to COMMIT (outcome commit) or ROLLBACK (outcome rollback)',
      labelNames: ['outcome'],
      buckets: fastBuckets,
      registers,
    });
    collectDefaultMetrics({ register: this.registry });
  }

  passFinished(seconds: number): void {
    this.schedulerPass.observe(seconds);
  }

  stepAttemptFinished(kind: string, outcome: StepOutcome, seconds: number): void {
    this.stepDuration.observe({ kind, outcome }, Math.max(0, seconds));
  }

  stepRetrying(kind: string): void {
    this.retries.inc({ kind });
  }

  stepFailed(kind: string, code: string): void {
    this.failures.inc({ kind, code: knownErrorCodes.has(code) ? code : 'other' });
  }

  storeTransactionFinished(seconds: number, committed: boolean): void {
    this.storeTransaction.observe({ outcome: committed ? 'commit' : 'rollback' }, seconds);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
