import * as grpc from '@grpc/grpc-js';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { StepEventReport, StepRef } from '../../common/step-events.ts';
import {
  factsToProto,
  type NodeFacts,
  type SnapshotChunk,
  snapshotChunkToProto,
  stepEventToProto,
  vipTransitionToProto,
} from '../../proto/convert.ts';
import type { AgentGatewayClient } from '../../proto/generated/kubeha/v1/AgentGateway.ts';
import type { AgentMessage } from '../../proto/generated/kubeha/v1/AgentMessage.ts';
import type { CoordinatorMessage__Output } from '../../proto/generated/kubeha/v1/CoordinatorMessage.ts';
import type { HealthSnapshot } from '../../proto/generated/kubeha/v1/HealthSnapshot.ts';
import { loadAgentGateway } from '../../proto/load-agent-gateway.ts';
import { reconnectDelayMs } from './reconnect-backoff.ts';

/** What the session needs from the rest of the agent; everything is optional so the session runs on its own. */
export interface SessionHooks {
  facts(): Promise<NodeFacts>;
  /** Finished results not yet acknowledged (the spool), re-sent in every Hello. */
  unacknowledged?(): StepEventReport[];
  running?(): StepRef[];
  health?(): { snapshot: HealthSnapshot; holdsVip: boolean };
  /** The VIP's state on this node and since when, sent when a session opens (then each change as it happens). */
  vipState?(): { vip: string; held: boolean; atMs: number } | undefined;
  onMessage?(message: CoordinatorMessage__Output): void;
  onConnected?(): void;
  onDisconnected?(): void;
}

export interface AgentSessionOptions {
  agentId: string;
  agentVersion: string;
  coordinator: string;
  caPem: Buffer;
  certPem: Buffer;
  keyPem: Buffer;
  heartbeatIntervalMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  logger: Logger;
  hooks: SessionHooks;
}

type SessionStream = grpc.ClientDuplexStream<AgentMessage, CoordinatorMessage__Output>;

/** The agent's mTLS session with the coordinator: Hello, heartbeats, step events, reconnects with backoff. */
export class AgentSession {
  private readonly options: AgentSessionOptions;
  private client: AgentGatewayClient;
  private stream: SessionStream | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failedAttempts = 0;
  private stopped = false;
  private established = false;

  constructor(options: AgentSessionOptions) {
    this.options = options;
    this.client = this.newClient(options.certPem, options.keyPem);
  }

  private newClient(certPem: Buffer, keyPem: Buffer): AgentGatewayClient {
    const proto = loadAgentGateway();
    return new proto.kubeha.v1.AgentGateway(
      this.options.coordinator,
      grpc.credentials.createSsl(this.options.caPem, keyPem, certPem),
      {
        'grpc.keepalive_time_ms': 20_000,
        'grpc.keepalive_timeout_ms': 10_000,
        'grpc.initial_reconnect_backoff_ms': 500,
      },
    );
  }

  /** Ends the session and opens a new one with new credentials (after a certificate renewal). */
  replaceCredentials(certPem: Buffer, keyPem: Buffer): void {
    const previousClient = this.client;
    const previousStream = this.stream;
    this.client = this.newClient(certPem, keyPem);
    this.stream = undefined;
    const wasEstablished = this.established;
    this.established = false;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.reconnectTimer);
    if (wasEstablished) this.options.hooks.onDisconnected?.();
    previousStream?.end();
    previousClient.close();
    this.failedAttempts = 0;
    if (!this.stopped) void this.connect();
  }

  get connected(): boolean {
    return this.established;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  /** Sends a message if a session is open; false otherwise (the caller keeps results in its spool). */
  send(message: AgentMessage): boolean {
    if (!this.stream || !this.established) return false;
    this.stream.write(message);
    return true;
  }

  sendStepEvent(event: StepEventReport): boolean {
    return this.send({ step_event: stepEventToProto(event) });
  }

  /**
   * Sends a piece of an etcd snapshot, resolving once the session can take more (gRPC's flow control bounds what
   * is buffered). Throws when no session is open or the session ends while waiting.
   */
  async sendSnapshotChunk(chunk: SnapshotChunk): Promise<void> {
    const stream = this.stream;
    if (!stream || !this.established) {
      throw new KubehaError(ErrorCode.stepFailed, 'no session with the coordinator: the etcd snapshot cannot be sent');
    }
    if (stream.write({ snapshot_chunk: snapshotChunkToProto(chunk) })) return;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        stream.off('drain', drained);
        stream.off('status', ended);
        if (error) reject(error);
        else resolve();
      };
      const drained = () => done();
      const ended = () =>
        done(
          new KubehaError(
            ErrorCode.stepFailed,
            'the session with the coordinator ended while sending the etcd snapshot',
          ),
        );
      stream.on('drain', drained);
      stream.on('status', ended);
    });
  }

  /** The VIP moved on this node; false when no session is open (the next session sends the state then). */
  sendVipTransition(change: { vip: string; held: boolean; atMs: number }): boolean {
    return this.send({ vip_transition: vipTransitionToProto({ ...change, sentAtMs: Date.now() }) });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      await new Promise<void>((resolve) => {
        const done = setTimeout(resolve, 1_000);
        stream.once('status', () => {
          clearTimeout(done);
          resolve();
        });
        stream.end();
      });
    }
    this.established = false;
    this.client.close();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const log = this.options.logger;
    let facts: NodeFacts;
    try {
      facts = await this.options.hooks.facts();
    } catch (error) {
      log.error({ err: error }, 'cannot gather facts');
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    const stream = this.client.Session();
    this.stream = stream;
    stream.on('metadata', () => {
      if (this.stream !== stream) return;
      this.established = true;
      this.failedAttempts = 0;
      log.info({ coordinator: this.options.coordinator }, 'session established');
      this.startHeartbeats();
      const vip = this.options.hooks.vipState?.();
      if (vip) this.sendVipTransition(vip);
      this.options.hooks.onConnected?.();
    });
    stream.on('data', (message: CoordinatorMessage__Output) => {
      try {
        this.options.hooks.onMessage?.(message);
      } catch (error) {
        log.error({ err: error }, 'failed to handle a coordinator message');
      }
    });
    stream.on('error', (error: grpc.ServiceError) => {
      if (this.stream !== stream) return;
      log.warn({ code: error.code, details: error.details }, 'session ended with an error');
    });
    stream.on('status', () => {
      if (this.stream !== stream) return;
      this.lost();
    });
    stream.write({
      hello: {
        agent_id: this.options.agentId,
        agent_version: this.options.agentVersion,
        facts: factsToProto(facts),
        unacknowledged: (this.options.hooks.unacknowledged?.() ?? []).map(stepEventToProto),
        running: (this.options.hooks.running?.() ?? []).map((r) => ({
          run_id: r.runId,
          step_id: r.stepId,
          attempt: r.attempt,
        })),
      },
    });
  }

  /** Sends a heartbeat now (e.g. the VIP moved) instead of at the next interval; nothing when not connected. */
  heartbeatNow(): void {
    if (this.established) this.beat();
  }

  private beat(): void {
    const health = this.options.hooks.health?.();
    this.send({
      heartbeat: {
        sent_at_ms: String(Date.now()),
        health: health?.snapshot ?? {
          agent_ok: true,
          vrrp_healthy: false,
          vrrp_reason: 'no health probe',
          probe_age_ms: '0',
        },
        holds_vip: health?.holdsVip ?? false,
      },
    });
  }

  private startHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
    this.beat();
    this.heartbeatTimer = setInterval(() => this.beat(), this.options.heartbeatIntervalMs);
  }

  private lost(): void {
    const wasEstablished = this.established;
    this.established = false;
    this.stream = undefined;
    clearInterval(this.heartbeatTimer);
    if (wasEstablished) this.options.hooks.onDisconnected?.();
    if (!this.stopped) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = reconnectDelayMs(this.failedAttempts, this.options.reconnectMinMs, this.options.reconnectMaxMs);
    this.failedAttempts++;
    this.options.logger.info({ delayMs: delay, attempt: this.failedAttempts }, 'reconnecting to the coordinator');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }
}
