import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/logger.ts';
import { type NodeFacts, snapshotDataFromProto } from '../proto/convert.ts';
import type { AgentConfig } from './config.ts';
import type { HealthEndpoint } from './health/health-endpoint.ts';
import type { VipWatcher } from './health/vip-watcher.ts';
import type { Host } from './host/host.ts';
import { localFiles } from './host/local-files.ts';
import { CertificateInventoryReader } from './kubeadm/certificate-inventory.ts';
import type { AgentMetrics } from './metrics/agent-metrics.ts';
import { AgentSession, type SessionHooks } from './session/agent-session.ts';
import { CertificateInventorySender } from './session/certificate-inventory-sender.ts';
import { CertificateRenewal, finishInterruptedSwitch, type RenewalStage } from './session/certificate-renewal.ts';
import { SnapshotReceiver } from './session/snapshot-receiver.ts';
import { ResultSpool } from './step-execution/result-spool.ts';
import type { StepDefinition } from './step-execution/step.ts';
import { StepExecutor } from './step-execution/step-executor.ts';
import { restoreSnapshotPath } from './steps/etcd-restore-member.ts';

export interface RunningAgent {
  session: AgentSession;
  steps: StepExecutor;
  stop(): Promise<void>;
}

/** Wires the agent's parts for `kubeha-agent run`. */
export function startAgent(
  config: Readonly<AgentConfig>,
  deps: {
    logger: Logger;
    version: string;
    facts: () => Promise<NodeFacts>;
    hooks?: Partial<SessionHooks>;
    /** The machine steps act on; tests pass a FakeHost. */
    host?: Host;
    steps?: ReadonlyMap<string, StepDefinition<unknown>>;
    /** The health endpoint (started by main.ts): fed ClusterPhase messages, read for every heartbeat. */
    health?: HealthEndpoint;
    /** Fed step durations and reconnects; reads the spool, running steps and the session at scrape time. */
    metrics?: AgentMetrics;
    /** When this node gained and lost the VIP: its state goes with every new session, its changes as they happen. */
    vipWatcher?: VipWatcher;
    /** The clock the certificate's expiry is checked against (tests move it forward). */
    now?: () => number;
    /** How often the certificate's expiry is checked besides each session start (default daily). */
    certificateCheckIntervalMs?: number;
    onRenewalStage?: (stage: RenewalStage) => void;
    /** How often the node's certificate inventory is sent besides each session start (default daily). */
    certificateInventoryIntervalMs?: number;
  },
): RunningAgent {
  const interrupted = finishInterruptedSwitch(config.tls);
  if (interrupted !== 'none') {
    deps.logger.warn({ outcome: interrupted }, 'finished a client-certificate switch that was interrupted');
  }
  const metrics = deps.metrics;
  const spool = new ResultSpool(join(config.stateDir, 'spool'));
  const steps = new StepExecutor({
    // Loaded on the first RunStep: an agent at rest does not carry execa and the step code.
    machinery: async () => ({
      host: deps.host ?? new (await import('./host/local-host.ts')).LocalHost({ facts: deps.facts }),
      registry: deps.steps ?? (await import('./steps/step-registry.ts')).stepRegistry,
    }),
    spool,
    send: (event) => session.sendStepEvent(event),
    sendSnapshotChunk: (chunk) => session.sendSnapshotChunk(chunk),
    logger: deps.logger.child({ component: 'steps' }),
    ...(metrics ? { onStepFinished: (kind, outcome, seconds) => metrics.stepFinished(kind, outcome, seconds) } : {}),
  });
  const snapshots = new SnapshotReceiver({
    pathOf: restoreSnapshotPath,
    logger: deps.logger.child({ component: 'etcd-restore' }),
  });
  const session = new AgentSession({
    agentId: config.agentId,
    agentVersion: deps.version,
    coordinator: config.coordinator,
    caPem: readFileSync(config.tls.caFile),
    certPem: readFileSync(config.tls.certFile),
    keyPem: readFileSync(config.tls.keyFile),
    heartbeatIntervalMs: config.heartbeatIntervalSeconds * 1000,
    reconnectMinMs: config.reconnect.minSeconds * 1000,
    reconnectMaxMs: config.reconnect.maxSeconds * 1000,
    logger: deps.logger.child({ component: 'session' }),
    hooks: {
      unacknowledged: () => steps.unacknowledged(),
      running: () => steps.running(),
      onMessage: (message) => {
        switch (message.kind) {
          case 'run_step':
          case 'cancel_step':
          case 'ack':
            steps.handle(message);
            break;
          case 'cluster_phase':
            if (message.cluster_phase) {
              deps.health?.handleClusterPhase(message.cluster_phase);
              deps.vipWatcher?.refresh();
            }
            break;
          case 'certificate_renewal':
            if (message.certificate_renewal) renewal.handle(message.certificate_renewal);
            break;
          case 'snapshot_data': {
            const piece = message.snapshot_data ? snapshotDataFromProto(message.snapshot_data) : undefined;
            if (piece) void snapshots.handle(piece);
            break;
          }
        }
      },
      ...(deps.health ? { health: () => deps.health!.heartbeat() } : {}),
      ...(deps.vipWatcher ? { vipState: () => deps.vipWatcher!.current() } : {}),
      ...deps.hooks,
      onConnected: () => {
        metrics?.sessionEstablished();
        deps.hooks?.onConnected?.();
        void renewal.check();
        void certificateInventory.sendNow();
      },
      facts: deps.facts,
    },
  });
  const renewal = new CertificateRenewal({
    agentId: config.agentId,
    files: config.tls,
    logger: deps.logger.child({ component: 'certificate' }),
    now: deps.now ?? Date.now,
    checkIntervalMs: deps.certificateCheckIntervalMs ?? 86_400_000,
    send: (message) => session.send(message),
    switchTo: ({ certPem, keyPem }) => session.replaceCredentials(certPem, keyPem),
    ...(deps.onRenewalStage ? { onStage: deps.onRenewalStage } : {}),
  });
  renewal.start();
  const inventoryLogger = deps.logger.child({ component: 'certificate-inventory' });
  const certificateInventory = new CertificateInventorySender({
    read: (now) => new CertificateInventoryReader(deps.host ?? localFiles, inventoryLogger).read(now),
    send: (message) => session.send(message),
    logger: inventoryLogger,
    now: deps.now ?? Date.now,
    intervalMs: deps.certificateInventoryIntervalMs ?? 86_400_000,
  });
  certificateInventory.start();
  deps.health?.monitor.onVipHeldChange(() => session.heartbeatNow());
  metrics?.attach({
    spoolDepth: () => spool.size,
    stepsRunning: () => steps.running().length,
    sessionConnected: () => session.connected,
  });
  session.start();
  return {
    session,
    steps,
    async stop() {
      renewal.stop();
      certificateInventory.stop();
      await steps.stop();
      await session.stop();
    },
  };
}
