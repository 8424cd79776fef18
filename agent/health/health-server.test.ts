import { execFile } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandInApiserver, startStandInApiserver } from '../../test/netns/stand-in-apiserver.ts';
import { freePort } from '../../test/support/free-port.ts';
import { makeTestPki } from '../../test/support/test-pki.ts';
import { initializedPhase } from './cluster-phase.fixture.ts';
import { HealthMonitor } from './health-monitor.ts';
import { type HealthServer, startHealthServer } from './health-server.ts';

const checkScript = fileURLToPath(new URL('../../packaging/check-apiserver', import.meta.url));
const run = promisify(execFile);

const phase = initializedPhase({ endpointMode: 'keepalived' });

let tierOk = true;
let monitor: HealthMonitor;
let health: HealthServer;
let apiserver: StandInApiserver;

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${health.port}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The exit status of the real check script, asking our endpoint (or a dead port) and falling back to `fallbackUrl`. */
async function checkExit(healthUrl: string, fallbackUrl: string): Promise<number> {
  try {
    await run(checkScript, [fallbackUrl, healthUrl], { timeout: 10_000 });
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  }
}

beforeAll(async () => {
  const pki = await makeTestPki();
  apiserver = await startStandInApiserver({ certPem: pki.certPem, keyPem: pki.keyPem, port: 0, host: '127.0.0.1' });
  monitor = new HealthMonitor({
    probeIntervalMs: 500,
    initialPhase: phase,
    probe: async () => ({ ok: tierOk, detail: tierOk ? 'HTTP 200' : 'HTTP 500' }),
    localAddresses: () => ['127.0.0.1'],
  });
  monitor.start();
  health = await startHealthServer(
    monitor,
    { version: '0.1.0-test', coordinatorConnected: () => false },
    '127.0.0.1:0',
  );
});
afterAll(async () => {
  await monitor.stop();
  await health.close();
  await apiserver.close();
});

describe('health endpoint', () => {
  it('answers 200 with the reason and the probe age while the probe passes', async () => {
    tierOk = true;
    await monitor.probeNow();
    const { status, body } = await get('/healthz/vrrp');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      healthy: true,
      reason: 'local apiserver ready: HTTP 200',
      phase: 'initialized',
      holdsVip: false,
    });
    expect(body.probeAgeMs).toBeGreaterThanOrEqual(0);
  });

  it('answers 503 once the probe has failed twice', async () => {
    tierOk = false;
    await monitor.probeNow();
    await monitor.probeNow();
    const { status, body } = await get('/healthz/vrrp');
    expect(status).toBe(503);
    expect(body).toMatchObject({ healthy: false, reason: 'local apiserver not ready: HTTP 500' });
    tierOk = true;
    await monitor.probeNow();
    await monitor.probeNow();
  });

  it('reports on the agent itself at /healthz and refuses other paths and methods', async () => {
    const self = await get('/healthz');
    expect(self).toMatchObject({ status: 200, body: { ok: true, version: '0.1.0-test', coordinatorConnected: false } });
    expect((await get('/nope')).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${health.port}/healthz/vrrp`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});

describe('check-apiserver', () => {
  it("follows the agent's verdict when the agent answers, whatever a direct probe would say", async () => {
    const healthUrl = `http://127.0.0.1:${health.port}/healthz/vrrp`;
    const tierUrl = `https://127.0.0.1:${apiserver.port}/readyz`;
    tierOk = true;
    await monitor.probeNow();
    expect(await checkExit(healthUrl, tierUrl)).toBe(0);
    tierOk = false;
    await monitor.probeNow();
    await monitor.probeNow();
    expect(await checkExit(healthUrl, tierUrl)).toBe(1);
    tierOk = true;
    await monitor.probeNow();
    await monitor.probeNow();
  });

  it('probes the tier directly when the agent does not answer, so an agent restart never moves the VIP', async () => {
    const agentDown = `http://127.0.0.1:${await freePort()}/healthz/vrrp`;
    expect(await checkExit(agentDown, `https://127.0.0.1:${apiserver.port}/readyz`)).toBe(0);
    apiserver.setStatus(503);
    expect(await checkExit(agentDown, `https://127.0.0.1:${apiserver.port}/readyz`)).toBe(1);
    apiserver.setStatus(200);
    expect(await checkExit(agentDown, `https://127.0.0.1:${await freePort()}/readyz`)).toBe(1);
  });

  it('probes the tier directly when the agent accepts but does not answer within 1 s (a blocked agent)', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      expect(
        await checkExit(`http://127.0.0.1:${port}/healthz/vrrp`, `https://127.0.0.1:${apiserver.port}/readyz`),
      ).toBe(0);
    } finally {
      silent.close();
    }
  });

  it('probes the tier directly while a just-started agent cannot tell yet (500)', async () => {
    const fresh = new HealthMonitor({ probeIntervalMs: 500 });
    const server = await startHealthServer(fresh, { version: 't', coordinatorConnected: () => false }, '127.0.0.1:0');
    try {
      const answer = await fetch(`http://127.0.0.1:${server.port}/healthz/vrrp`);
      expect(answer.status).toBe(500);
      expect(await answer.json()).toMatchObject({ unknown: true, phase: 'unknown' });
      const healthUrl = `http://127.0.0.1:${server.port}/healthz/vrrp`;
      expect(await checkExit(healthUrl, `https://127.0.0.1:${apiserver.port}/readyz`)).toBe(0);
      expect(await checkExit(healthUrl, `https://127.0.0.1:${await freePort()}/readyz`)).toBe(1);
    } finally {
      await server.close();
    }
  });
});
