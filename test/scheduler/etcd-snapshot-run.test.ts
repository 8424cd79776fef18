import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EtcdSnapshotReply } from '../../coordinator/api/routes/etcd-snapshots-routes.ts';
import { etcdSnapshotGetCommand, etcdSnapshotsCommand } from '../../coordinator/cli/commands/etcd-snapshots-command.ts';
import { runEventsStream } from '../../coordinator/cli/run-events-stream.ts';
import type { SimBehaviour } from '../sim/sim-agent.ts';
import { waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';

const t = simFleetPerTest();

/** A deployed cluster of simulated agents whose etcd-snapshot steps send what `snapshot` says. */
async function deployed(name: string, snapshot: () => SimBehaviour['snapshot']) {
  const fleet = await t.startFleet({
    name,
    controlPlanes: 3,
    workers: 1,
    heartbeatMs: 100,
    script: simScript({ default: 5 }, (step) => (step.kind === 'etcd-snapshot' ? { snapshot: snapshot() } : undefined)),
  });
  const spec = { ...fleet.spec, spec: { ...fleet.spec.spec, etcd: { snapshots: { every: '1d', keep: 2 } } } };
  await fleet.sim.api.request('POST', '/v1/clusters', spec);
  const deploy = await fleet.sim.api.request<{ id: string }>('POST', `/v1/clusters/${name}/runs`, { kind: 'deploy' });
  expect((await waitForRunEnd(fleet.sim.api, deploy.id)).state).toBe('succeeded');
  return { ...fleet, spec };
}

async function snapshotRun(name: string) {
  const api = t.sim!.api;
  const run = await api.request<{ id: string }>('POST', `/v1/clusters/${name}/runs`, { kind: 'etcd-snapshot' });
  const ended = await waitForRunEnd(api, run.id);
  const events: string[] = [];
  for await (const event of runEventsStream(api, run.id)) events.push(event.message);
  return { ended, events };
}

describe('etcd-snapshot runs', () => {
  it('GIVEN a deployed cluster WHEN three snapshots are taken THEN each is kept from the first control plane, the list keeps the newest 2, and a download matches its sha256', async () => {
    const files: Buffer[] = [];
    const { executions, sim } = await deployed('snap-a', () => {
      const bytes = randomBytes(200_000 + files.length);
      files.push(bytes);
      return { bytes, chunkBytes: 64 * 1024 };
    });

    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await snapshotRun('snap-a'));

    expect(runs.map((r) => r.ended.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(executions.filter((e) => e.kind === 'etcd-snapshot').map((e) => e.node)).toEqual(['cp1', 'cp1', 'cp1']);
    expect(runs[0]!.events.some((e) => /etcd snapshot \S+ kept: 200000 bytes, revision 4242, 1234 keys/.test(e))).toBe(
      true,
    );
    const { snapshots } = await sim.api.request<{ snapshots: EtcdSnapshotReply[] }>(
      'GET',
      '/v1/clusters/snap-a/etcd-snapshots',
    );
    expect(snapshots.map((s) => s.sizeBytes)).toEqual([200_002, 200_001]);
    expect(snapshots.every((s) => s.node === 'cp1' && s.revision === 4242 && s.totalKeys === 1234)).toBe(true);
    const oldest = executions.find((e) => e.kind === 'etcd-snapshot')!.params['snapshotId'];
    expect(runs[2]!.events.some((e) => e === `pruned to the newest 2: deleted ${oldest}`)).toBe(true);

    const listed: string[] = [];
    expect(await etcdSnapshotsCommand(sim.api, (l) => listed.push(l), 'snap-a', 'table')).toBe(0);
    expect(listed.join('\n')).toMatch(/^ID\s+TAKEN\s+NODE\s+REVISION\s+KEYS\s+SIZE\s+SHA256/);
    expect(listed.join('\n')).toContain(snapshots[0]!.sha256.slice(0, 12));

    t.dir = mkdtempSync(join(tmpdir(), 'kubeha-snapshot-get-'));
    const file = join(t.dir, 'newest.db');
    const out: string[] = [];
    const code = await etcdSnapshotGetCommand(
      sim.api,
      (l) => out.push(l),
      (l) => out.push(l),
      'snap-a',
      snapshots[0]!.id,
      file,
    );
    expect(code).toBe(0);
    expect(readFileSync(file)).toEqual(files[2]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(out.join('\n')).toContain(`sha256 ${snapshots[0]!.sha256} (checked)`);
  });

  it('GIVEN an agent announcing a sha256 its bytes do not have WHEN the snapshot run ends THEN it failed naming why, and nothing is listed', async () => {
    const { sim } = await deployed('snap-b', () => ({ bytes: randomBytes(50_000), announceSha256: 'f'.repeat(64) }));

    const { ended } = await snapshotRun('snap-b');

    expect(ended.state).toBe('failed');
    const step = ended.steps.find((s) => s.kind === 'etcd-snapshot')!;
    expect(step.attempt).toBe(1);
    expect(step.error?.message).toMatch(
      /etcd snapshot \S+ from cp1 was not kept: snapshot \S+: received 50000 bytes with sha256 [0-9a-f]{64}, the agent sent 50000 bytes with sha256 f{64}/,
    );
    const { snapshots } = await sim.api.request<{ snapshots: unknown[] }>('GET', '/v1/clusters/snap-b/etcd-snapshots');
    expect(snapshots).toEqual([]);
    // Not even a partial file is left.
    expect(readdirSync(join(sim.coordinator.snapshots.directory, 'snap-b'))).toEqual([]);
  });

  it('GIVEN a snapshot id that is not there WHEN downloaded THEN 404 naming it', async () => {
    await deployed('snap-c', () => ({ bytes: randomBytes(10) }));
    await expect(
      etcdSnapshotGetCommand(
        t.sim!.api,
        () => {},
        () => {},
        'snap-c',
        'nope',
        '/tmp/never-written.db',
      ),
    ).rejects.toMatchObject({ status: 404, message: 'cluster snap-c has no etcd snapshot nope' });
  });

  it('GIVEN keep lowered by a spec put but not deployed WHEN a snapshot is taken THEN the list is pruned to the new keep', async () => {
    const { sim, spec } = await deployed('snap-d', () => ({ bytes: randomBytes(1000) }));
    expect((await snapshotRun('snap-d')).ended.state).toBe('succeeded');
    expect((await snapshotRun('snap-d')).ended.state).toBe('succeeded');

    await sim.api.request('PUT', '/v1/clusters/snap-d', {
      ...spec,
      spec: { ...spec.spec, etcd: { snapshots: { every: '1d', keep: 1 } } },
    });
    const { ended, events } = await snapshotRun('snap-d');

    expect(ended.state).toBe('succeeded');
    const { snapshots } = await sim.api.request<{ snapshots: EtcdSnapshotReply[] }>(
      'GET',
      '/v1/clusters/snap-d/etcd-snapshots',
    );
    expect(snapshots.map((s) => s.runId)).toEqual([ended.id]);
    expect(events.some((e) => e.startsWith('pruned to the newest 1: deleted '))).toBe(true);
  });
});
