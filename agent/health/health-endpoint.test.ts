import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import type { ClusterPhase__Output } from '../../proto/generated/kubeha/v1/ClusterPhase.ts';
import { startHealthEndpoint } from './health-endpoint.ts';

const dir = mkdtempSync(join(tmpdir(), 'kha-health-endpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bootstrapOnInitNode: ClusterPhase__Output = {
  cluster: 'prod-a',
  initialized: false,
  init_node: true,
  endpoint_mode: 'haproxy-keepalived',
  lb_port: 16443,
  vip: '10.213.0.10',
  cluster_ca_pem: '',
};

function options() {
  return {
    listen: '127.0.0.1:0',
    probeIntervalMs: 200,
    stateDir: join(dir, 'state'),
    trackFile: join(dir, 'run', 'vrrp-status'),
    version: 't',
    coordinatorConnected: () => true,
    logger: createLogger({ name: 'test', level: 'fatal' }),
  };
}

describe('startHealthEndpoint', () => {
  it('GIVEN a ClusterPhase THEN it answers from it, writes the track file, and a restarted agent remembers the phase', async () => {
    const first = await startHealthEndpoint(options());
    expect((await fetch(`http://127.0.0.1:${first.port}/healthz/vrrp`)).status).toBe(500);
    first.handleClusterPhase(bootstrapOnInitNode);
    const answer = await fetch(`http://127.0.0.1:${first.port}/healthz/vrrp`);
    expect(answer.status).toBe(200);
    await expect.poll(() => readFileSync(join(dir, 'run', 'vrrp-status'), 'utf8'), { timeout: 5_000 }).toBe('0\n');
    expect(first.heartbeat()).toMatchObject({ snapshot: { vrrp_healthy: true, agent_ok: true }, holdsVip: false });
    await first.stop();

    const second = await startHealthEndpoint(options());
    try {
      const again = await fetch(`http://127.0.0.1:${second.port}/healthz/vrrp`);
      expect(again.status).toBe(200);
      expect(await again.json()).toMatchObject({ phase: 'bootstrap', reason: expect.stringContaining('kubeadm init') });
    } finally {
      await second.stop();
    }
  });

  it('GIVEN the port is taken THEN the agent still runs its monitor (keepalived falls back to direct probes)', async () => {
    const first = await startHealthEndpoint({ ...options(), stateDir: join(dir, 'taken') });
    const second = await startHealthEndpoint({
      ...options(),
      stateDir: join(dir, 'taken2'),
      listen: `127.0.0.1:${first.port}`,
    });
    expect(second.port).toBe(-1);
    second.handleClusterPhase(bootstrapOnInitNode);
    expect(second.heartbeat().snapshot.vrrp_healthy).toBe(true);
    await second.stop();
    await first.stop();
  });

  it('GIVEN a node told to stay away from the VIP WHEN the agent stops THEN the track file hands the decision to the check script', async () => {
    const trackFile = join(dir, 'run-stop', 'vrrp-status');
    const endpoint = await startHealthEndpoint({ ...options(), stateDir: join(dir, 'stop'), trackFile });
    endpoint.handleClusterPhase({ ...bootstrapOnInitNode, init_node: false });
    await expect.poll(() => readFileSync(trackFile, 'utf8'), { timeout: 5_000 }).toBe('1\n');
    await endpoint.stop();
    expect(readFileSync(trackFile, 'utf8')).toBe('0\n');
  });

  it('ignores a ClusterPhase with an unknown endpoint mode', async () => {
    const endpoint = await startHealthEndpoint({ ...options(), stateDir: join(dir, 'other') });
    try {
      endpoint.handleClusterPhase({ ...bootstrapOnInitNode, endpoint_mode: 'bogus' });
      expect(endpoint.monitor.clusterPhase).toBeUndefined();
    } finally {
      await endpoint.stop();
    }
  });
});
