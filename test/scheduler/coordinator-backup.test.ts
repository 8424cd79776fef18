import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimAgent } from '../sim/sim-agent.ts';
import { type RunView, type SimCoordinator, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript, startSimFleet, stopSimFleet } from '../sim/sim-fleet.ts';
import { runCommand } from '../support/run-command.ts';
import { waitFor } from '../support/wait-for.ts';

const main = join(import.meta.dirname, '..', '..', 'coordinator', 'main.ts');
const work = mkdtempSync(join(tmpdir(), 'kubeha-backup-'));
let sims: SimCoordinator[] = [];
let agents: SimAgent[] = [];

afterEach(async () => {
  await stopSimFleet(agents, ...sims);
  sims = [];
  rmSync(work, { recursive: true, force: true });
});

const coordinatorCommand = (args: string[]) => runCommand(process.execPath, [main, ...args]);

describe('kubeha-coordinator backup and restore', () => {
  it('GIVEN a deploy in progress WHEN the coordinator is backed up, lost, and restored on a fresh data directory THEN the restored coordinator finishes the run with the same CA', async () => {
    const first = await startSimCoordinator({ dataDir: join(work, 'first') });
    let releaseJoins = () => {};
    const joinsMayEnd = new Promise<void>((resolve) => {
      releaseJoins = resolve;
    });
    sims.push(first);
    const fleet = await startSimFleet(first, {
      name: 'moved',
      controlPlanes: 1,
      workers: 2,
      script: simScript({ default: 10 }, (step) => (step.kind === 'kubeadm-join' ? { until: joinsMayEnd } : {})),
    });
    agents = fleet.agents;
    await first.api.request('PUT', '/v1/clusters/moved', fleet.spec);
    const run = await first.api.request<{ id: string }>('POST', '/v1/clusters/moved/runs', { kind: 'deploy' });
    await waitFor('kubeadm init to succeed', async () => {
      const view = await first.api.request<RunView>('GET', `/v1/runs/${run.id}`);
      return view.steps.some((s) => s.kind === 'kubeadm-init' && s.state === 'succeeded') || undefined;
    });

    await waitFor('the joins to start', async () => {
      const view = await first.api.request<RunView>('GET', `/v1/runs/${run.id}`);
      return view.steps.filter((s) => s.kind === 'kubeadm-join' && s.state === 'running').length === 2 || undefined;
    });
    // WHEN it is backed up while the joins run
    const file = join(work, 'backups', 'coordinator.backup');
    const backedUp = await coordinatorCommand(['backup', '--data-dir', join(work, 'first'), '--to', file]);
    expect(backedUp.stderr).toBe('');
    expect(backedUp.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const during = await first.api.request<RunView>('GET', `/v1/runs/${run.id}`);
    expect(during.state).toBe('running');
    // AND the admin host is lost while the joins still run
    const grpcListen = first.grpcAddress;
    const caCertHash = first.coordinator.caCertHash;
    await first.stop();
    releaseJoins();
    sims = [];
    expect(existsSync(join(work, 'first'))).toBe(false);

    // AND restored on a fresh data directory, and a coordinator started there on the same address
    const restored = await coordinatorCommand(['restore', '--from', file, '--data-dir', join(work, 'second')]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(statSync(join(work, 'second', 'coordinator.db')).mode & 0o777).toBe(0o600);
    expect(statSync(join(work, 'second', 'ca.key')).mode & 0o777).toBe(0o600);
    const second = await startSimCoordinator({ dataDir: join(work, 'second'), grpcListen });
    sims.push(second);

    // THEN the agents come back to it, it finishes the run, and its CA is the one the agents trust
    expect(second.coordinator.caCertHash).toBe(caCertHash);
    const done = await waitForRunEnd(second.api, run.id);
    expect(done.state).toBe('succeeded');
    expect(done.steps.filter((s) => s.kind === 'kubeadm-join').map((s) => s.state)).toEqual(['succeeded', 'succeeded']);
    // AND a restore over the live database is refused
    const over = await coordinatorCommand(['restore', '--from', file, '--data-dir', join(work, 'second')]);
    expect(over.code).toBe(2);
    expect(over.stderr).toContain('already has a database');
    // Three programs start here (backup, restore, restore again) besides two coordinators: a loaded machine needs time.
  }, 180_000);
});
