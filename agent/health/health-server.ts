import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '../../common/errors.ts';
import type { MetricsExposition } from '../metrics/agent-metrics.ts';
import type { HealthMonitor } from './health-monitor.ts';

export interface AgentStatus {
  version: string;
  /** Whether the session with the coordinator is up (informational: the agent is healthy without it). */
  coordinatorConnected(): boolean;
}

export interface HealthServer {
  server: Server;
  /** The port it listens on (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * GET /healthz/vrrp: 200 or 503 from the cached probe verdict (keepalived's check script asks it every second);
 * 500 while the agent cannot tell yet (just started), which sends the script to its own direct probe.
 * GET /healthz: the agent itself. Answers never wait for a probe.
 */
export function buildHealthServer(monitor: HealthMonitor, status: AgentStatus, metrics?: MetricsExposition): Server {
  const startedAt = Date.now();
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    let code: number;
    let body: unknown;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      code = 405;
      body = { error: { code: ErrorCode.badRequest, message: `${req.method} is not allowed; use GET` } };
    } else if (path === '/healthz/vrrp') {
      const verdict = monitor.verdict();
      const phase = monitor.clusterPhase;
      code = verdict.healthy ? 200 : verdict.unknown ? 500 : 503;
      body = {
        healthy: verdict.healthy,
        unknown: verdict.unknown,
        reason: verdict.reason,
        probeAgeMs: verdict.probeAgeMs,
        phase: !phase ? 'unknown' : phase.initialized ? 'initialized' : 'bootstrap',
        holdsVip: monitor.holdsVip(),
      };
    } else if (path === '/healthz') {
      const alive = monitor.loopAlive();
      code = alive ? 200 : 503;
      body = {
        ok: alive,
        reason: alive ? 'probe loop running' : 'probe loop stalled',
        version: status.version,
        uptimeS: Math.round((Date.now() - startedAt) / 1000),
        coordinatorConnected: status.coordinatorConnected(),
      };
    } else if (path === '/metrics' && metrics) {
      serveMetrics(metrics, req.method === 'HEAD', res);
      return;
    } else {
      code = 404;
      body = { error: { code: ErrorCode.notFound, message: `${path} does not exist; try /healthz or /healthz/vrrp` } };
    }
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  });
}

/** GET /metrics: the Prometheus text format, rendered apart from the /healthz paths (which never wait for it). */
function serveMetrics(metrics: MetricsExposition, head: boolean, res: ServerResponse): void {
  metrics.render().then(
    ({ contentType, body }) => {
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
      res.end(head ? undefined : body);
    },
    (error: unknown) => {
      const text = `${JSON.stringify({ error: { code: ErrorCode.internal, message: `cannot render the metrics: ${String(error)}` } })}\n`;
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(head ? undefined : text);
    },
  );
}

/** Listens on "HOST:PORT" (127.0.0.1:7445 by default; port 0 picks one). */
export async function startHealthServer(
  monitor: HealthMonitor,
  status: AgentStatus,
  listen: string,
  metrics?: MetricsExposition,
): Promise<HealthServer> {
  const separator = listen.lastIndexOf(':');
  const host = listen.slice(0, separator).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(separator + 1));
  const server = buildHealthServer(monitor, status, metrics);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
