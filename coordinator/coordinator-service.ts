import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { formatHostPort } from '../common/format-host-port.ts';
import type { Logger } from '../common/logger.ts';
import { kubehaVersion } from '../common/version.ts';
import { buildApi } from './api/build-api.ts';
import { agentsRoutes } from './api/routes/agents-routes.ts';
import { certificatesRoutes } from './api/routes/certificates-routes.ts';
import { clustersRoutes } from './api/routes/clusters-routes.ts';
import { etcdSnapshotsRoutes } from './api/routes/etcd-snapshots-routes.ts';
import { healthRoutes } from './api/routes/health-routes.ts';
import { metricsRoutes } from './api/routes/metrics-routes.ts';
import { runsRoutes } from './api/routes/runs-routes.ts';
import { tokensRoutes } from './api/routes/tokens-routes.ts';
import { AutomaticCertificateRenewal } from './certificates/automatic-renewal.ts';
import { CertificateInventories } from './certificates/certificate-inventories.ts';
import { certificateRunWarnings } from './certificates/certificate-run-warnings.ts';
import { apiServesTls, type CoordinatorConfig, splitHostPort } from './config.ts';
import { AgentVipTimelines } from './drill/agent-vip-timeline.ts';
import type { DrillOptions } from './drill/drive-drill.ts';
import { SnapshotIntake } from './etcd/snapshot-intake.ts';
import { SnapshotSchedule } from './etcd/snapshot-schedule.ts';
import { SnapshotSender } from './etcd/snapshot-sender.ts';
import { SnapshotStore } from './etcd/snapshot-store.ts';
import { AgentGatewayServer } from './gateway/agent-gateway-server.ts';
import { LoadBalancerDrift } from './load-balancer/load-balancer-drift.ts';
import { CoordinatorMetrics } from './metrics/coordinator-metrics.ts';
import { ensureMetricsToken } from './metrics/metrics-token.ts';
import { ensureCoordinatorIdentity } from './pki/coordinator-identity.ts';
import type { PlanRun } from './plan/run-plan.ts';
import { RunEventBus } from './scheduler/run-event-bus.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { SqliteStore } from './store/sqlite-store.ts';

/**
 * How often the heartbeats held in memory are written to the store (coordinator/store/live-heartbeats.ts): at most
 * this much of "last heard" is lost when the coordinator is killed; a clean stop writes them all.
 */
const heartbeatFlushMs = 30_000;

/** How often the etcd snapshot schedules are looked at: a snapshot starts at most this late. */
const snapshotScheduleMs = 60_000;
/** How often the load balancers' recorded positions are compared with the applied specs. */
const loadBalancerDriftMs = 30_000;

/** How often certificate expiries are checked against the warning thresholds between reports. */
const certificateCheckMs = 3_600_000;

export interface RunningCoordinator {
  grpcPort: number;
  apiPort: number;
  apiUrl: string;
  adminToken: string;
  adminTokenPath: string;
  /** The bearer token that reads GET /metrics only (for Prometheus). */
  metricsToken: string;
  metricsTokenPath: string;
  metrics: CoordinatorMetrics;
  certificates: CertificateInventories;
  /** The etcd snapshots kept off the clusters' nodes. */
  snapshots: SnapshotStore;
  caCertHash: string;
  caCertificatePem: string;
  gateway: AgentGatewayServer;
  store: SqliteStore;
  scheduler: Scheduler;
  api: FastifyInstance;
  stop(): Promise<void>;
}

export interface CoordinatorDeps {
  logger: Logger;
  now?: () => number;
  /** How often the etcd snapshot schedules are looked at (default a minute). */
  snapshotScheduleMs?: number;
  loadBalancerDriftMs?: number;
  /** The scheduler's clock (credential ages, timeouts, backoff); `now` when absent. */
  schedulerNow?: () => number;
  /** Scheduler timings; the defaults suit production. */
  scheduler?: {
    tickMs?: number;
    disconnectGraceMs?: number;
    resumeGraceMs?: number;
    agentWaitMs?: number;
    planRun?: PlanRun;
    drill?: DrillOptions;
  };
}

/** Builds and starts the coordinator's parts: store, PKI, gRPC gateway, REST API. */
export async function startCoordinator(
  config: Readonly<CoordinatorConfig>,
  deps: CoordinatorDeps,
): Promise<RunningCoordinator> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger;
  const tls = apiServesTls(config);
  const identity = await ensureCoordinatorIdentity(
    config.dataDir,
    config.grpc.serverSans,
    Date.now(),
    tls ? config.api.serverSans : [],
  );
  const metricsToken = ensureMetricsToken(config.dataDir);
  let metrics: CoordinatorMetrics | undefined;
  const store = new SqliteStore(join(config.dataDir, 'coordinator.db'), {
    observeTransaction: (seconds, committed) => metrics?.storeTransactionFinished(seconds, committed),
  });
  // Sessions do not survive a restart: every agent reconnects and says Hello again.
  store.agents.markAllDisconnected();
  const snapshots = new SnapshotStore(config.dataDir, store);
  // An upload cut off by the last stop is never resumed: the agent's step sends the snapshot again from its start.
  snapshots.removeStaleUploads();

  const gateway = new AgentGatewayServer({
    ca: identity.ca,
    serverCertificatePem: identity.serverCertificatePem,
    serverPrivateKeyPem: identity.serverPrivateKeyPem,
    store,
    logger: logger.child({ component: 'gateway' }),
    now,
    heartbeatTimeoutMs: config.grpc.heartbeatTimeoutSeconds * 1000,
    agentCertificateDays: config.grpc.agentCertificateDays,
    greet: (agentId) => scheduler.clusterPhaseMessages(agentId),
  });
  const certificates = new CertificateInventories({
    thresholds: config.certificates,
    logger: logger.child({ component: 'certificates' }),
    now,
    describeAgent: (agentId): Record<string, string> => {
      const hostname = store.agents.get(agentId)?.hostname;
      return hostname ? { hostname } : {};
    },
  });
  const automaticRenewal = new AutomaticCertificateRenewal({
    store,
    certificates,
    startRun: (cluster, kind, options) => scheduler.startRun(cluster, kind, options),
    now,
    logger: logger.child({ component: 'certificates' }),
  });
  // Time moves certificates across the thresholds (and into the renewal window) between the agents' daily reports.
  const certificateCheck = setInterval(() => {
    certificates.check();
    automaticRenewal.check();
  }, certificateCheckMs);
  certificateCheck.unref();
  const bus = new RunEventBus();
  const vipTimelines = new AgentVipTimelines();
  metrics = new CoordinatorMetrics(kubehaVersion, {
    connectedAgents: () => gateway.connectedAgentIds().length,
    enrolledAgents: () => store.agents.countEnrolled(),
    runsByKindAndState: () => store.runs.countByKindAndState(),
    sseClients: () => bus.subscribers,
    certificatesByLevel: () => certificates.countByLevel(),
    soonestCertificateExpirySeconds: () => certificates.soonestExpirySeconds(),
  });
  const snapshotIntake = new SnapshotIntake({
    snapshots,
    logger: logger.child({ component: 'etcd-snapshots' }),
    now,
    stepInFlight: (runId, stepId) => scheduler.inFlightStep(runId, stepId),
    keepOf: (cluster) => store.clusters.get(cluster)?.spec.spec.etcd?.snapshots?.keep,
  });
  const snapshotSender = new SnapshotSender({
    snapshots,
    send: (agentId, message) => gateway.sendFlowControlled(agentId, message),
    logger: logger.child({ component: 'etcd-snapshots' }),
  });
  const scheduler = new Scheduler({
    store,
    agents: gateway,
    snapshots: snapshotIntake,
    sendRestoreSnapshot: (agentId, cluster, ref, snapshotId) => snapshotSender.send(agentId, cluster, ref, snapshotId),
    runStartNotes: (cluster) =>
      certificateRunWarnings({ store, certificates, thresholds: config.certificates }, cluster, now()),
    bus,
    logger: logger.child({ component: 'scheduler' }),
    now: deps.schedulerNow ?? now,
    agentWaitMs: config.agentWaitSeconds * 1000,
    observer: metrics,
    ...deps.scheduler,
    drill: { vipTimelines, ...deps.scheduler?.drill },
  });
  gateway.addListener({
    agentConnected: (agentId, hello) => scheduler.agentConnected(agentId, hello.unacknowledged),
    agentDisconnected: (agentId) => {
      snapshotIntake.agentDisconnected(agentId);
      scheduler.agentDisconnected(agentId);
    },
    stepEvent: (agentId, event) => scheduler.stepEvent(agentId, event),
    agentClock: (agentId, sentAtMs, receivedAtMs) => vipTimelines.clockSample(agentId, sentAtMs, receivedAtMs),
    vipTransition: (agentId, transition) => vipTimelines.transition(agentId, transition),
    certificateInventory: (agentId, inventory) => certificates.report(agentId, inventory),
    snapshotChunk: (agentId, chunk) => snapshotIntake.chunk(agentId, chunk),
  });
  const snapshotSchedule = new SnapshotSchedule({
    store,
    snapshots,
    runs: scheduler,
    logger: logger.child({ component: 'etcd-snapshots' }),
    now: deps.schedulerNow ?? now,
  });
  const snapshotTimer = setInterval(() => snapshotSchedule.tick(), deps.snapshotScheduleMs ?? snapshotScheduleMs);
  snapshotTimer.unref();
  const loadBalancerDrift = new LoadBalancerDrift({
    store,
    runs: scheduler,
    logger: logger.child({ component: 'load-balancer' }),
    now: deps.schedulerNow ?? now,
  });
  let stopping = false;
  const lookForDrift = () => {
    if (stopping) return;
    try {
      loadBalancerDrift.tick();
    } catch (error) {
      logger.warn({ err: error }, 'load-balancer drift check failed');
    }
  };
  const driftTimer = setInterval(lookForDrift, deps.loadBalancerDriftMs ?? loadBalancerDriftMs);
  driftTimer.unref();
  // An agent coming back is when a node a change went past can be brought in line: look soon, not at the next tick.
  let driftSoon: NodeJS.Timeout | undefined;
  gateway.addListener({
    agentConnected: () => {
      driftSoon ??= setTimeout(() => {
        driftSoon = undefined;
        lookForDrift();
      }, 1_000).unref();
    },
  });
  const heartbeatFlush = setInterval(() => {
    try {
      store.agents.flushHeartbeats();
    } catch (error) {
      logger.error({ err: error }, "could not write the agents' heartbeats; they are tried again at the next flush");
    }
  }, heartbeatFlushMs);
  heartbeatFlush.unref();
  // Unfinished runs are loaded before any agent can connect and report a result for them.
  scheduler.start();
  const grpcListen = splitHostPort(config.grpc.listen);
  const grpcPort = await gateway.listen(grpcListen.host, grpcListen.port);
  const gatewayAddress = config.grpc.advertiseAddress || `${config.grpc.serverSans[0] ?? grpcListen.host}:${grpcPort}`;

  const api = await buildApi({
    ...(tls && identity.apiCertificatePem && identity.apiPrivateKeyPem
      ? { https: { cert: identity.apiCertificatePem, key: identity.apiPrivateKeyPem } }
      : {}),
    adminToken: identity.adminToken,
    scrapeToken: metricsToken.token,
    logger,
    version: kubehaVersion,
    routes: [
      healthRoutes(kubehaVersion),
      agentsRoutes({
        store,
        gateway,
        now,
        onRevoked: (id) => {
          scheduler.agentRevoked(id);
          vipTimelines.forget(id);
          certificates.forget(id);
        },
      }),
      tokensRoutes({ store, caCertHash: identity.ca.hash, gatewayAddress, now }),
      clustersRoutes({ store, scheduler, now }),
      certificatesRoutes({ store, certificates, now }),
      etcdSnapshotsRoutes({ store, snapshots }),
      runsRoutes({ store, scheduler, bus }),
      metricsRoutes(metrics),
    ],
  });
  const apiListen = splitHostPort(config.api.listen);
  await api.listen({ host: apiListen.host, port: apiListen.port });
  const address = api.server.address();
  const apiPort = typeof address === 'object' && address ? address.port : apiListen.port;
  logger.info(
    { api: formatHostPort(apiListen.host, apiPort), grpc: grpcPort, caCertHash: identity.ca.hash },
    'coordinator started',
  );

  return {
    grpcPort,
    apiPort,
    apiUrl: `${tls ? 'https' : 'http'}://${formatHostPort(apiListen.host === '0.0.0.0' ? '127.0.0.1' : apiListen.host, apiPort)}`,
    adminToken: identity.adminToken,
    adminTokenPath: identity.adminTokenPath,
    metricsToken: metricsToken.token,
    metricsTokenPath: metricsToken.path,
    metrics,
    certificates,
    snapshots,
    caCertHash: identity.ca.hash,
    caCertificatePem: identity.ca.certificatePem,
    gateway,
    store,
    scheduler,
    api,
    async stop() {
      stopping = true;
      clearInterval(heartbeatFlush);
      clearInterval(certificateCheck);
      clearInterval(snapshotTimer);
      clearInterval(driftTimer);
      clearTimeout(driftSoon);
      scheduler.stop();
      await api.close();
      await gateway.close();
      store.close();
    },
  };
}
