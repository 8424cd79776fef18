import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { StepEventReport, StepFailure, StepResult } from '../../common/step-events.ts';
import {
  type CertificateInventory,
  certificateInventoryToProto,
  factsToProto,
  type NodeFacts,
  snapshotChunkToProto,
  stepEventToProto,
  stepParamsFromRunStep,
} from '../../proto/convert.ts';
import type { AgentGatewayClient } from '../../proto/generated/kubeha/v1/AgentGateway.ts';
import type { AgentMessage } from '../../proto/generated/kubeha/v1/AgentMessage.ts';
import type { CoordinatorMessage__Output } from '../../proto/generated/kubeha/v1/CoordinatorMessage.ts';
import type { RunStep__Output } from '../../proto/generated/kubeha/v1/RunStep.ts';
import { loadAgentGateway } from '../../proto/load-agent-gateway.ts';

/** What a simulated step does; the default is to succeed after the kind's delay. */
export interface SimBehaviour {
  delayMs: number;
  outcome?: 'succeed' | 'fail' | 'hang';
  deterministic?: boolean;
  /** What a failing step reports beyond "simulated failure of STEP": a command line, its exit code, stderr's tail. */
  failure?: Partial<Pick<StepFailure, 'code' | 'message' | 'command' | 'exitCode' | 'stderrTail'>>;
  outputs?: Record<string, string>;
  /** What a succeeded step reports as `changed`; true unless said (a step that found nothing to do says false). */
  changed?: boolean;
  /** Drop the session right after the step starts and stay away this long; the step keeps running meanwhile. */
  disconnectForMs?: number;
  /** The step finishes no earlier than this (a test holds it running while it does something else). */
  until?: Promise<void>;
  /** Called just before the result is sent (e.g. to move an injected clock while nothing else is in flight). */
  beforeResult?: () => void;
  /** What the step reports it changed (in a dry run: would change). */
  changes?: string[];
  /** An etcd-snapshot step: the file it sends in chunks before it reports, and a sha256 to announce instead of its own. */
  snapshot?: { bytes: Uint8Array; chunkBytes?: number; announceSha256?: string };
}

export interface SimStep {
  node: string;
  runId: string;
  stepId: string;
  attempt: number;
  kind: string;
  params: Record<string, unknown>;
  /** The RunStep asked for a dry run: report what would change, change nothing. */
  dryRun: boolean;
}

export type SimScript = (step: SimStep) => SimBehaviour;

/** One execution of a step by a simulated agent, for the tests' assertions. */
export interface SimExecution extends SimStep {
  startedAt: number;
  finishedAt: number | null;
  outcome: 'succeeded' | 'failed' | 'cancelled' | null;
}

export interface SimAgentOptions {
  node: string;
  agentId: string;
  coordinator: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  facts: NodeFacts;
  script: SimScript;
  /** Shared by all agents of a test: every execution, in start order. */
  executions: SimExecution[];
  heartbeatMs?: number;
  reconnectMs?: number;
}

const key = (r: { runId: string; stepId: string; attempt: number }) => `${r.runId}/${r.stepId}/${r.attempt}`;

/**
 * A stand-in for kubeha-agent over the real gRPC contract: Hello with the spool of unacknowledged results,
 * heartbeats, RunStep de-duplicated by step id and attempt, results re-sent until the coordinator Acks them.
 */
export class SimAgent {
  readonly options: SimAgentOptions;
  readonly phases: CoordinatorMessage__Output['cluster_phase'][] = [];
  /** Steps received more than once (same id and attempt): answered from the spool or ignored, never re-run. */
  duplicatesIgnored = 0;
  /** The etcd snapshots the coordinator sent this agent for a restore: bytes received, and what the last piece said. */
  readonly snapshotsReceived: { snapshotId: string; stepId: string; bytes: number; size: number; sha256: string }[] =
    [];
  private snapshotBytes = 0;
  private held = false;
  private heldSince = Date.now();

  /** Reported in heartbeats, and each change at once as a VipTransition, like the agent's address watcher. */
  get holdsVip(): boolean {
    return this.held;
  }

  set holdsVip(held: boolean) {
    if (held === this.held) return;
    this.held = held;
    this.heldSince = Date.now();
    this.sendVipState();
  }

  private sendVipState(): void {
    this.send({
      vip_transition: {
        vip: '10.10.255.100',
        held: this.held,
        at_ms: String(this.heldSince),
        sent_at_ms: String(Date.now()),
      },
    });
  }
  /** Sent at every session start, as the agent does, once a test sets it (reportCertificates). */
  private certificates: CertificateInventory | undefined;

  /** Sets the node's certificates and sends them now when a session is open (else at the next one). */
  reportCertificates(inventory: CertificateInventory): void {
    this.certificates = inventory;
    this.sendCertificates();
  }

  private sendCertificates(): void {
    if (this.certificates) this.send({ certificate_inventory: certificateInventoryToProto(this.certificates) });
  }
  private client: AgentGatewayClient;
  private stream: grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output> | undefined;
  private established = false;
  private readonly running = new Map<string, { timer?: NodeJS.Timeout; execution: SimExecution }>();
  private readonly finished = new Map<string, StepEventReport>();
  private readonly spool = new Map<string, StepEventReport>();
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private awayUntil = 0;
  private stopped = false;

  constructor(options: SimAgentOptions) {
    this.options = options;
    this.client = this.newClient();
  }

  get connected(): boolean {
    return this.established;
  }

  get unacknowledged(): number {
    return this.spool.size;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Drops the session now and stays away for `ms`. */
  disconnectFor(ms: number): void {
    this.awayUntil = Date.now() + ms;
    const stream = this.stream;
    this.stream = undefined;
    this.established = false;
    clearInterval(this.heartbeat);
    stream?.cancel();
    this.client.close();
    this.client = this.newClient();
    this.scheduleReconnect(ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnect);
    clearInterval(this.heartbeat);
    for (const r of this.running.values()) clearTimeout(r.timer);
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
  }

  private newClient(): AgentGatewayClient {
    const proto = loadAgentGateway();
    return new proto.kubeha.v1.AgentGateway(
      this.options.coordinator,
      grpc.credentials.createSsl(
        Buffer.from(this.options.caPem),
        Buffer.from(this.options.keyPem),
        Buffer.from(this.options.certPem),
      ),
      { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 },
    );
  }

  private connect(): void {
    if (this.stopped || Date.now() < this.awayUntil) return;
    const stream = this.client.Session();
    this.stream = stream;
    stream.on('metadata', () => {
      if (this.stream !== stream) return;
      this.established = true;
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs ?? 1_000);
      this.beat();
      this.sendVipState();
      this.sendCertificates();
    });
    stream.on('data', (message: CoordinatorMessage__Output) => this.onMessage(message));
    stream.on('error', () => {});
    stream.on('status', () => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.established = false;
      clearInterval(this.heartbeat);
      this.scheduleReconnect(this.options.reconnectMs ?? 200);
    });
    stream.write({
      hello: {
        agent_id: this.options.agentId,
        agent_version: 'sim',
        facts: factsToProto(this.options.facts),
        unacknowledged: [...this.spool.values()].map(stepEventToProto),
        running: [...this.running.values()].map(({ execution: e }) => ({
          run_id: e.runId,
          step_id: e.stepId,
          attempt: e.attempt,
        })),
      },
    });
  }

  private scheduleReconnect(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.reconnect);
    this.reconnect = setTimeout(() => this.connect(), ms);
  }

  private beat(): void {
    this.send({
      heartbeat: {
        sent_at_ms: String(Date.now()),
        health: { agent_ok: true, vrrp_healthy: true, vrrp_reason: 'sim', probe_age_ms: '0' },
        holds_vip: this.holdsVip,
      },
    });
  }

  private send(message: AgentMessage): boolean {
    if (!this.stream || !this.established) return false;
    this.stream.write(message);
    return true;
  }

  private onMessage(message: CoordinatorMessage__Output): void {
    if (message.run_step) this.onRunStep(message.run_step);
    else if (message.ack)
      this.spool.delete(key({ runId: message.ack.run_id, stepId: message.ack.step_id, attempt: message.ack.attempt }));
    else if (message.cancel_step) {
      const k = key({
        runId: message.cancel_step.run_id,
        stepId: message.cancel_step.step_id,
        attempt: message.cancel_step.attempt,
      });
      const running = this.running.get(k);
      if (running) {
        clearTimeout(running.timer);
        this.finish(k, running.execution, { outcome: 'cancelled', error: 'cancelled by the coordinator' });
      }
    } else if (message.cluster_phase) this.phases.push(message.cluster_phase);
    else if (message.snapshot_data) {
      const piece = message.snapshot_data;
      if (Number(piece.offset) === 0) this.snapshotBytes = 0;
      this.snapshotBytes += piece.data.length;
      if (piece.last) {
        this.snapshotsReceived.push({
          snapshotId: piece.snapshot_id,
          stepId: piece.step_id,
          bytes: this.snapshotBytes,
          size: Number(piece.size),
          sha256: piece.sha256,
        });
      }
    }
  }

  private onRunStep(message: RunStep__Output): void {
    const ref = { runId: message.run_id, stepId: message.step_id, attempt: message.attempt };
    const k = key(ref);
    if (this.running.has(k)) {
      this.duplicatesIgnored++;
      return;
    }
    const done = this.finished.get(k);
    if (done) {
      this.duplicatesIgnored++;
      this.spool.set(k, done);
      this.send({ step_event: stepEventToProto(done) });
      return;
    }
    // host-prep carries every node of the cluster; the simulation never reads it, so it skips the conversion.
    const parsed = message.params === 'host_prep' ? { kind: 'host-prep', params: {} } : stepParamsFromRunStep(message);
    const step: SimStep = {
      node: this.options.node,
      ...ref,
      kind: parsed?.kind ?? 'unknown',
      params: (parsed?.params ?? {}) as Record<string, unknown>,
      dryRun: message.dry_run,
    };
    const behaviour = this.options.script(step);
    const execution: SimExecution = { ...step, startedAt: Date.now(), finishedAt: null, outcome: null };
    this.options.executions.push(execution);
    const entry: { timer?: NodeJS.Timeout; execution: SimExecution } = { execution };
    this.running.set(k, entry);
    this.send({
      step_event: stepEventToProto({
        ...ref,
        atMs: Date.now(),
        type: 'started',
        stepKind: step.kind,
        paramsChecksum: '',
      }),
    });
    if (behaviour.disconnectForMs !== undefined) this.disconnectFor(behaviour.disconnectForMs);
    if (behaviour.outcome === 'hang') return;
    entry.timer = setTimeout(async () => {
      await behaviour.until;
      if (this.running.get(k) !== entry) return;
      behaviour.beforeResult?.();
      if (behaviour.snapshot) this.sendSnapshot(step, behaviour.snapshot);
      if (behaviour.outcome === 'fail') {
        this.finish(k, execution, {
          outcome: 'failed',
          error: `simulated failure of ${step.stepId}`,
          deterministic: behaviour.deterministic ?? false,
          ...(behaviour.failure ? { failure: behaviour.failure } : {}),
        });
      } else {
        this.finish(k, execution, {
          outcome: 'succeeded',
          outputs: behaviour.outputs ?? {},
          changed: behaviour.changed ?? true,
          changes: behaviour.changes ?? [],
        });
      }
    }, behaviour.delayMs);
  }

  private sendSnapshot(step: SimStep, snapshot: NonNullable<SimBehaviour['snapshot']>): void {
    const snapshotId = String(step.params['snapshotId']);
    const size = snapshot.chunkBytes ?? 1024;
    const base = { runId: step.runId, stepId: step.stepId, attempt: step.attempt, snapshotId };
    const blank = { last: false, size: 0, sha256: '', revision: 0, totalKeys: 0, hash: 0 };
    for (let offset = 0; offset < snapshot.bytes.length; offset += size) {
      const data = snapshot.bytes.subarray(offset, offset + size);
      this.send({ snapshot_chunk: snapshotChunkToProto({ ...base, ...blank, offset, data }) });
    }
    const sha256 = snapshot.announceSha256 ?? createHash('sha256').update(snapshot.bytes).digest('hex');
    this.send({
      snapshot_chunk: snapshotChunkToProto({
        ...base,
        offset: snapshot.bytes.length,
        data: new Uint8Array(0),
        last: true,
        size: snapshot.bytes.length,
        sha256,
        revision: 4242,
        totalKeys: 1234,
        hash: 987654321,
      }),
    });
  }

  private finish(
    k: string,
    execution: SimExecution,
    how: {
      outcome: 'succeeded' | 'failed' | 'cancelled';
      error?: string;
      deterministic?: boolean;
      failure?: SimBehaviour['failure'];
      outputs?: Record<string, string>;
      changed?: boolean;
      changes?: string[];
    },
  ): void {
    this.running.delete(k);
    execution.finishedAt = Date.now();
    execution.outcome = how.outcome;
    const result: StepResult = {
      outcome: how.outcome,
      changed: how.outcome === 'succeeded' && how.changed !== false,
      outputs: how.outputs ?? {},
      paramsChecksum: '',
      changes: how.changes ?? [],
      ...(how.error
        ? {
            error: {
              code: 'KUBEHA_STEP_FAILED',
              message: how.error,
              deterministic: how.deterministic ?? false,
              ...how.failure,
            } as StepFailure,
          }
        : {}),
    };
    const event: StepEventReport = {
      runId: execution.runId,
      stepId: execution.stepId,
      attempt: execution.attempt,
      atMs: Date.now(),
      type: 'finished',
      result,
    };
    this.finished.set(k, event);
    this.spool.set(k, event);
    this.send({ step_event: stepEventToProto(event) });
  }
}
