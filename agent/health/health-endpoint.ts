import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.ts';
import type { ClusterPhase__Output } from '../../proto/generated/kubeha/v1/ClusterPhase.ts';
import type { HealthSnapshot } from '../../proto/generated/kubeha/v1/HealthSnapshot.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { type ClusterPhase, clusterPhaseFromProto, parseSavedClusterPhase } from './cluster-phase.ts';
import { HealthMonitor } from './health-monitor.ts';
import { type HealthServer, startHealthServer } from './health-server.ts';
import { probeTier } from './tier-probe.ts';
import { vrrpTrackFileWriter } from './vrrp-track-file.ts';

export interface HealthEndpointOptions {
  listen: string;
  probeIntervalMs: number;
  /** Where the last ClusterPhase is kept, so a restarted agent answers at once without the coordinator. */
  stateDir: string;
  trackFile: string;
  version: string;
  coordinatorConnected(): boolean;
  logger: Logger;
  /** Served at /metrics on the same listener; fed each probe's duration, and reads the verdict and VIP at scrape. */
  metrics?: AgentMetrics;
}

/** The health endpoint as the agent runs it: monitor + HTTP server + track file + the saved cluster phase. */
export interface HealthEndpoint {
  monitor: HealthMonitor;
  /** -1 when the endpoint could not listen (logged). */
  port: number;
  handleClusterPhase(message: ClusterPhase__Output): void;
  /** For every heartbeat. */
  heartbeat(): { snapshot: HealthSnapshot; holdsVip: boolean };
  stop(): Promise<void>;
}

const phaseFile = 'cluster-phase.json';

export async function startHealthEndpoint(options: HealthEndpointOptions): Promise<HealthEndpoint> {
  const log = options.logger;
  const path = join(options.stateDir, phaseFile);
  const saved = await readFile(path, 'utf8').then(parseSavedClusterPhase, () => undefined);
  const writeTrackFile = vrrpTrackFileWriter(options.trackFile, (error) =>
    log.error({ err: error, file: options.trackFile }, 'cannot write the VRRP track file'),
  );
  let saving = Promise.resolve();
  const save = (phase: ClusterPhase) => {
    saving = saving.then(async () => {
      try {
        await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
        await writeFile(`${path}.tmp`, `${JSON.stringify(phase)}\n`, { mode: 0o600 });
        await rename(`${path}.tmp`, path);
      } catch (error) {
        log.error({ err: error, file: path }, 'cannot save the cluster phase');
      }
    });
  };
  const monitor = new HealthMonitor({
    probeIntervalMs: options.probeIntervalMs,
    ...(saved ? { initialPhase: saved } : {}),
    logger: log,
    onVerdictChange: (verdict) => void writeTrackFile(verdict.healthy),
    onPhaseChange: save,
    ...(options.metrics ? { probe: timedProbe(options.metrics) } : {}),
  });
  options.metrics?.attach({ verdict: () => monitor.verdict(), holdsVip: () => monitor.holdsVip() });
  let server: HealthServer | undefined;
  try {
    server = await startHealthServer(
      monitor,
      { version: options.version, coordinatorConnected: options.coordinatorConnected },
      options.listen,
      options.metrics,
    );
    log.info({ listen: options.listen, phaseKnown: saved !== undefined }, 'health endpoint listening');
  } catch (error) {
    // Not fatal: the check script probes the tier itself when the agent does not answer, and the track file still works.
    log.error(
      { err: error, listen: options.listen },
      'the health endpoint cannot listen; keepalived falls back to direct probes',
    );
  }
  monitor.start();
  return {
    monitor,
    port: server?.port ?? -1,
    handleClusterPhase(message) {
      try {
        monitor.setPhase(clusterPhaseFromProto(message));
      } catch (error) {
        log.error({ err: error }, 'ignored an invalid ClusterPhase');
      }
    },
    heartbeat() {
      const verdict = monitor.verdict();
      return {
        snapshot: {
          agent_ok: monitor.loopAlive(),
          vrrp_healthy: verdict.healthy,
          vrrp_reason: verdict.reason,
          probe_age_ms: String(Math.max(0, verdict.probeAgeMs)),
        },
        holdsVip: monitor.holdsVip(),
      };
    },
    /** A stopping agent hands the decision to the check script alone (its direct probe), whatever it last said. */
    async stop() {
      await monitor.stop();
      await server?.close();
      await writeTrackFile(true);
      await saving;
    },
  };
}

function timedProbe(metrics: AgentMetrics): typeof probeTier {
  return async (url, caPem, timeoutMs, options) => {
    const started = performance.now();
    const result = await probeTier(url, caPem, timeoutMs, options);
    metrics.probeFinished(result.ok, (performance.now() - started) / 1000);
    return result;
  };
}
