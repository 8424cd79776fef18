import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, isKubehaError, type KubehaError } from '../../common/errors.ts';
import { formatHostPort } from '../../common/format-host-port.ts';
import type { Logger } from '../../common/logger.ts';
import type { StepEventReport } from '../../common/step-events.ts';
import { tlsPolicy } from '../../common/tls-policy.ts';
import {
  type CertificateInventory,
  certificateInventoryFromProto,
  factsFromProto,
  type NodeFacts,
  type SnapshotChunk,
  snapshotChunkFromProto,
  stepEventFromProto,
  type VipTransition,
  vipTransitionFromProto,
} from '../../proto/convert.ts';
import type { AgentMessage__Output } from '../../proto/generated/kubeha/v1/AgentMessage.ts';
import type { CoordinatorMessage } from '../../proto/generated/kubeha/v1/CoordinatorMessage.ts';
import type { EnrollRequest__Output } from '../../proto/generated/kubeha/v1/EnrollRequest.ts';
import type { EnrollResponse } from '../../proto/generated/kubeha/v1/EnrollResponse.ts';
import { loadAgentGateway } from '../../proto/load-agent-gateway.ts';
import { bootstrapTokenProblem, parseBootstrapToken } from '../pki/bootstrap-tokens.ts';
import type { CertificateAuthority } from '../pki/certificate-authority.ts';
import type { AgentRecord, Store } from '../store/store.ts';
import { normaliseSerial, peerIdentity } from './peer-identity.ts';

export interface GatewayListener {
  agentConnected?(agentId: string, hello: { facts: NodeFacts; unacknowledged: StepEventReport[] }): void;
  agentDisconnected?(agentId: string): void;
  stepEvent?(agentId: string, event: StepEventReport): void;
  /** A message stamped by the agent's clock (`sentAtMs`) arrived at `receivedAtMs` (the coordinator's clock). */
  agentClock?(agentId: string, sentAtMs: number, receivedAtMs: number): void;
  /** The agent saw its node gain or lose the VIP (self-reported, the agent's clock). */
  vipTransition?(agentId: string, transition: VipTransition): void;
  /** The agent's certificates (sent at every session start and daily). */
  certificateInventory?(agentId: string, inventory: CertificateInventory): void;
  /** A piece of an etcd snapshot the agent's etcd-snapshot step sends, in order. */
  snapshotChunk?(agentId: string, chunk: SnapshotChunk): void;
}

export interface AgentGatewayOptions {
  ca: CertificateAuthority;
  serverCertificatePem: string;
  serverPrivateKeyPem: string;
  store: Store;
  logger: Logger;
  now?: () => number;
  /** An agent whose last heartbeat is older than this loses its session. */
  heartbeatTimeoutMs?: number;
  /** Lifetime of the client certificates issued at enrollment and renewal (default 365). */
  agentCertificateDays?: number;
  /** Every new session is told this, e.g. its cluster phase; may be empty. */
  greet?: (agentId: string) => CoordinatorMessage[];
}

type SessionCall = grpc.ServerDuplexStream<AgentMessage__Output, CoordinatorMessage>;

const agentIdPattern = /^agent-[0-9a-f-]{36}$/;

/** Whether a verified peer serial is the agent's certificate, the renewed one it has not used yet, or neither. */
function certificateStanding(agent: AgentRecord, serial: string): 'current' | 'renewed' | 'unknown' {
  if (normaliseSerial(agent.certificateSerial) === serial) return 'current';
  if (agent.pendingCertificateSerial && normaliseSerial(agent.pendingCertificateSerial) === serial) return 'renewed';
  return 'unknown';
}

function grpcStatusFor(error: KubehaError): grpc.status {
  switch (error.code) {
    case ErrorCode.tokenInvalid:
    case ErrorCode.tokenExpired:
    case ErrorCode.tokenUsedUp:
      return grpc.status.UNAUTHENTICATED;
    case ErrorCode.csrInvalid:
    case ErrorCode.badRequest:
      return grpc.status.INVALID_ARGUMENT;
    default:
      return grpc.status.INTERNAL;
  }
}

/** The gRPC server agents talk to: enrollment under server TLS, sessions under mutual TLS. */
export class AgentGatewayServer {
  private readonly server = new grpc.Server({ 'grpc.keepalive_time_ms': 20_000, 'grpc.keepalive_timeout_ms': 10_000 });
  private readonly sessions = new Map<string, SessionCall>();
  /** When each connected agent was last heard (Hello, heartbeat): the sweep reads this, not the store. */
  private readonly lastHeardAt = new Map<string, number>();
  private readonly listeners: GatewayListener[] = [];
  private readonly now: () => number;
  private readonly options: AgentGatewayOptions;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: AgentGatewayOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    const proto = loadAgentGateway();
    this.server.addService(proto.kubeha.v1.AgentGateway.service, {
      Enroll: (
        call: grpc.ServerUnaryCall<EnrollRequest__Output, EnrollResponse>,
        callback: grpc.sendUnaryData<EnrollResponse>,
      ) => {
        this.enroll(call.request).then(
          (response) => callback(null, response),
          (error: unknown) => callback(this.toServiceError(error, 'enroll')),
        );
      },
      Session: (call: SessionCall) => this.session(call),
    });
  }

  addListener(listener: GatewayListener): void {
    this.listeners.push(listener);
  }

  /** Binds and starts serving; returns the port (useful with port 0 in tests). */
  async listen(host: string, port: number): Promise<number> {
    const { ca, serverCertificatePem, serverPrivateKeyPem } = this.options;
    const identity = { certificate: Buffer.from(serverCertificatePem), privateKey: Buffer.from(serverPrivateKeyPem) };
    const caUpdate = { caCertificate: Buffer.from(ca.certificatePem) };
    // Client certificates are requested but not required at the TLS layer: Enroll has none yet. Session checks
    // the verified peer itself, so a missing or foreign certificate never gets a session.
    // grpc-js registers its watcher only after adding these listeners, so they must answer asynchronously.
    const provider = {
      addCaCertificateListener: (listener: (u: typeof caUpdate) => void) => queueMicrotask(() => listener(caUpdate)),
      removeCaCertificateListener: () => {},
      addIdentityCertificateListener: (listener: (u: typeof identity) => void) =>
        queueMicrotask(() => listener(identity)),
      removeIdentityCertificateListener: () => {},
    };
    const credentials = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
    // grpc-js hands node's TLS server only the certificates whenever they change (setSecureContext), which resets the
    // protocol and suites to node's defaults: the policy goes into every update.
    const updatable = credentials as unknown as { updateSecureContextOptions(o: object | null): void };
    const update = updatable.updateSecureContextOptions.bind(credentials);
    updatable.updateSecureContextOptions = (o) => update(o && { ...o, ...tlsPolicy });
    const bound = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(formatHostPort(host, port), credentials, (error, boundPort) =>
        error ? reject(error) : resolve(boundPort),
      );
    });
    const timeout = this.options.heartbeatTimeoutMs ?? 15_000;
    this.sweepTimer = setInterval(() => this.dropSilentAgents(timeout), Math.min(timeout, 5_000));
    this.sweepTimer.unref();
    this.options.logger.info({ host, port: bound }, 'agent gateway listening');
    return bound;
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const [agentId, call] of this.sessions) {
      call.end();
      this.markDisconnected(agentId);
    }
    this.sessions.clear();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2_000);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  isConnected(agentId: string): boolean {
    return this.sessions.has(agentId);
  }

  connectedAgentIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** Sends a message on the agent's session; false when the agent is not connected. */
  send(agentId: string, message: CoordinatorMessage): boolean {
    const call = this.sessions.get(agentId);
    if (!call) return false;
    call.write(message);
    return true;
  }

  /**
   * Sends a message and waits until the session's send buffer has room again: a large transfer (an etcd snapshot
   * for a restore) never holds more than one message beyond what gRPC buffers. False when the agent is not connected
   * or its session ended while waiting.
   */
  async sendFlowControlled(agentId: string, message: CoordinatorMessage): Promise<boolean> {
    const call = this.sessions.get(agentId);
    if (!call) return false;
    if (call.write(message)) return true;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => () => {
        call.off('drain', onDrain);
        call.off('close', onEnd);
        call.off('cancelled', onEnd);
        resolve(ok && this.sessions.get(agentId) === call);
      };
      const onDrain = done(true);
      const onEnd = done(false);
      call.once('drain', onDrain);
      call.once('close', onEnd);
      call.once('cancelled', onEnd);
    });
  }

  /** Ends the agent's session (after a revocation); its certificate no longer opens one. */
  disconnect(agentId: string, reason: string): void {
    const call = this.sessions.get(agentId);
    if (!call) return;
    this.sessions.delete(agentId);
    call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: reason });
    this.markDisconnected(agentId);
  }

  private async enroll(request: EnrollRequest__Output): Promise<EnrollResponse> {
    const { id, secret } = parseBootstrapToken(request.token);
    const problem = bootstrapTokenProblem(this.options.store.tokens.get(id), secret, this.now());
    if (problem) throw problem;
    const facts = factsFromProto(request.facts);
    const agentId = `agent-${randomUUID()}`;
    const issued = await this.options.ca.signAgentCsr(request.csr_pem, agentId, this.options.agentCertificateDays);
    this.options.store.enrollAgent({
      tokenId: id,
      tokenSecret: secret,
      now: this.now(),
      agent: {
        id: agentId,
        hostname: facts.hostname,
        agentVersion: request.agent_version,
        facts,
        certificateSerial: issued.serialNumber,
        certificateNotAfter: issued.notAfter.getTime(),
        enrolledAt: this.now(),
        revokedAt: null,
        connected: false,
        lastHeartbeatAt: null,
        holdsVip: false,
        health: null,
      },
    });
    this.options.logger.info({ agentId, hostname: facts.hostname, tokenId: id }, 'agent enrolled');
    return { agent_id: agentId, certificate_pem: issued.certificatePem, ca_pem: this.options.ca.certificatePem };
  }

  private session(call: SessionCall): void {
    const log = this.options.logger;
    const identity = peerIdentity(call.getAuthContext().sslPeerCertificate);
    if (!identity || !agentIdPattern.test(identity.agentId)) {
      log.warn({ peer: call.getPeer() }, 'session refused: no client certificate signed by this coordinator');
      call.emit('error', {
        code: grpc.status.UNAUTHENTICATED,
        details: 'a client certificate issued by this coordinator is required',
      });
      return;
    }
    const { agentId } = identity;
    const agent = this.options.store.agents.get(agentId);
    const certificate = agent && agent.revokedAt === null ? certificateStanding(agent, identity.serial) : 'unknown';
    if (certificate === 'unknown') {
      log.warn({ agentId }, 'session refused: agent unknown or revoked');
      call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: `agent ${agentId} is revoked or unknown` });
      return;
    }
    const notAfter = Date.parse(call.getAuthContext().sslPeerCertificate?.valid_to ?? '');
    if (certificate === 'renewed') {
      // The agent holds its new certificate now: from here on only that one opens a session.
      this.options.store.agents.update(agentId, {
        certificateSerial: identity.serial,
        pendingCertificateSerial: null,
        ...(Number.isFinite(notAfter) ? { certificateNotAfter: notAfter } : {}),
      });
      log.info({ agentId, serial: identity.serial }, 'agent switched to its renewed certificate');
    } else if (Number.isFinite(notAfter) && agent?.certificateNotAfter !== notAfter) {
      this.options.store.agents.update(agentId, { certificateNotAfter: notAfter });
    }
    let greeted = false;
    call.on('data', (message: AgentMessage__Output) => {
      try {
        if (message.hello) {
          if (message.hello.agent_id !== agentId) {
            call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'an agent may only report for itself' });
            return;
          }
          const previous = this.sessions.get(agentId);
          if (previous && previous !== call) previous.end();
          this.sessions.set(agentId, call);
          greeted = true;
          const facts = factsFromProto(message.hello.facts);
          const now = this.now();
          this.lastHeardAt.set(agentId, now);
          this.options.store.agents.update(agentId, {
            connected: true,
            facts,
            hostname: facts.hostname,
            agentVersion: message.hello.agent_version,
            lastHeartbeatAt: now,
          });
          log.info({ agentId, hostname: facts.hostname }, 'agent session opened');
          // Headers tell the agent its Hello was accepted, so it can reset its reconnect backoff.
          call.sendMetadata(new grpc.Metadata());
          for (const greeting of this.options.greet?.(agentId) ?? []) call.write(greeting);
          const unacknowledged = message.hello.unacknowledged
            .map(stepEventFromProto)
            .filter((e): e is StepEventReport => e !== undefined);
          for (const l of this.listeners) l.agentConnected?.(agentId, { facts, unacknowledged });
          return;
        }
        if (!greeted) {
          call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'the first message must be Hello' });
          return;
        }
        if (message.heartbeat) {
          const h = message.heartbeat;
          const sentAtMs = Number(h.sent_at_ms);
          const now = this.now();
          if (sentAtMs > 0) for (const l of this.listeners) l.agentClock?.(agentId, sentAtMs, now);
          // A session already replaced or dropped says nothing of the agent any more.
          if (this.sessions.get(agentId) !== call) return;
          this.lastHeardAt.set(agentId, now);
          this.options.store.agents.heartbeat(agentId, {
            at: now,
            holdsVip: h.holds_vip,
            health: h.health
              ? {
                  agentOk: h.health.agent_ok,
                  vrrpHealthy: h.health.vrrp_healthy,
                  vrrpReason: h.health.vrrp_reason,
                  probeAgeMs: Number(h.health.probe_age_ms),
                }
              : null,
          });
        } else if (message.vip_transition) {
          const transition = vipTransitionFromProto(message.vip_transition);
          if (!transition) {
            log.warn({ agentId }, 'ignored a VipTransition without valid times');
            return;
          }
          const receivedAtMs = this.now();
          this.options.store.agents.update(agentId, { holdsVip: transition.held });
          for (const l of this.listeners) {
            l.agentClock?.(agentId, transition.sentAtMs, receivedAtMs);
            l.vipTransition?.(agentId, transition);
          }
        } else if (message.step_event) {
          const event = stepEventFromProto(message.step_event);
          if (event) for (const l of this.listeners) l.stepEvent?.(agentId, event);
        } else if (message.certificate_inventory) {
          const inventory = certificateInventoryFromProto(message.certificate_inventory);
          for (const l of this.listeners) l.certificateInventory?.(agentId, inventory);
        } else if (message.snapshot_chunk) {
          // Chunks of a session already replaced belong to an upload that cannot complete.
          if (this.sessions.get(agentId) !== call) return;
          const chunk = snapshotChunkFromProto(message.snapshot_chunk);
          if (!chunk) {
            log.warn({ agentId }, 'ignored a SnapshotChunk with an offset or size beyond any snapshot');
            return;
          }
          for (const l of this.listeners) l.snapshotChunk?.(agentId, chunk);
        } else if (message.renew_certificate) {
          void this.renewCertificate(agentId, call, message.renew_certificate.csr_pem);
        }
      } catch (error) {
        log.error({ agentId, err: error }, 'failed to handle an agent message');
      }
    });
    const closed = () => {
      if (this.sessions.get(agentId) === call) {
        this.sessions.delete(agentId);
        this.markDisconnected(agentId);
        log.info({ agentId }, 'agent session closed');
      }
    };
    call.on('end', () => {
      closed();
      call.end();
    });
    call.on('cancelled', closed);
    call.on('error', closed);
  }

  /**
   * Signs a renewal CSR for the session's own agent id (the CSR's subject is ignored, as at enrollment). The new
   * serial is kept apart until the agent opens a session with it, so a crash on either side leaves a certificate
   * that works: the previous one until the switch, the new one after.
   */
  private async renewCertificate(agentId: string, call: SessionCall, csrPem: string): Promise<void> {
    const log = this.options.logger;
    const agent = this.options.store.agents.get(agentId);
    if (!agent || agent.revokedAt !== null) {
      log.warn({ agentId }, 'certificate renewal refused: agent unknown or revoked');
      call.write({ certificate_renewal: { certificate_pem: '', refused: 'the agent is revoked or unknown' } });
      return;
    }
    try {
      const issued = await this.options.ca.signAgentCsr(csrPem, agentId, this.options.agentCertificateDays);
      if (this.options.store.agents.get(agentId)?.revokedAt !== null) return;
      this.options.store.agents.update(agentId, { pendingCertificateSerial: issued.serialNumber });
      log.info(
        { agentId, serial: normaliseSerial(issued.serialNumber), notAfter: issued.notAfter.toISOString() },
        'agent certificate renewed; the previous one opens sessions until the agent uses the new one',
      );
      call.write({ certificate_renewal: { certificate_pem: issued.certificatePem, refused: '' } });
    } catch (error) {
      const reason = isKubehaError(error) ? error.message : 'internal error';
      log.warn({ agentId, err: isKubehaError(error) ? undefined : error }, `certificate renewal refused: ${reason}`);
      call.write({ certificate_renewal: { certificate_pem: '', refused: reason } });
    }
  }

  private markDisconnected(agentId: string): void {
    this.lastHeardAt.delete(agentId);
    this.options.store.agents.update(agentId, { connected: false });
    for (const l of this.listeners) l.agentDisconnected?.(agentId);
  }

  private dropSilentAgents(timeoutMs: number): void {
    const now = this.now();
    for (const [agentId, heardAt] of [...this.lastHeardAt]) {
      if (now - heardAt > timeoutMs) {
        this.options.logger.warn({ agentId }, 'agent missed its heartbeats; closing its session');
        const call = this.sessions.get(agentId);
        this.sessions.delete(agentId);
        call?.emit('error', { code: grpc.status.UNAVAILABLE, details: 'heartbeats missed' });
        this.markDisconnected(agentId);
      }
    }
  }

  private toServiceError(error: unknown, operation: string): Partial<grpc.StatusObject> {
    if (isKubehaError(error)) {
      this.options.logger.warn({ code: error.code, operation }, error.message);
      return { code: grpcStatusFor(error), details: `${error.code}: ${error.message}` };
    }
    this.options.logger.error({ err: error, operation }, 'unexpected failure');
    return { code: grpc.status.INTERNAL, details: 'internal error' };
  }
}
