import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SnapshotChunk } from '../../proto/convert.ts';
import { FakeHost } from '../host/fake-host.ts';
import { etcdctlTls } from '../kubeadm/etcdctl.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { etcdSnapshotStep, lastSentFile, snapshotPath } from './etcd-snapshot.ts';

const container = '3f4e5d6c7b8a';
const etcdctl = (...args: string[]) => ['exec', '--sync', container, 'etcdctl', ...etcdctlTls, ...args];
const ref = { runId: 'run-1', stepId: 'etcd-snapshot/cp1', attempt: 1 };
const path = snapshotPath('snap-1');
const snapshotBytes = 'bolt database pages '.repeat(1000);
const statusJson = '{"hash":3041513337,"revision":1234,"totalKey":987,"totalSize":20480}';

function etcdHost(health = '[{"endpoint":"https://127.0.0.1:2379","health":true,"took":"2ms"}]'): FakeHost {
  const host = new FakeHost();
  host.stub('crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'], {
    stdout: `${container}\n`,
  });
  host.stub('crictl', etcdctl('endpoint', 'health', '-w', 'json'), { stdout: health });
  return host;
}

function expectSnapshot(host: FakeHost): void {
  host.expect('crictl', etcdctl('snapshot', 'save', path), {
    stdout: `Snapshot saved at ${path}\n`,
    effect: (h) => h.setFile(path, snapshotBytes, 0o600),
  });
  host.expect('crictl', ['exec', '--sync', container, 'etcdutl', 'snapshot', 'status', path, '-w', 'json'], {
    stdout: statusJson,
  });
}

function recorder(): { chunks: SnapshotChunk[]; send: (c: SnapshotChunk) => Promise<void> } {
  const chunks: SnapshotChunk[] = [];
  return { chunks, send: async (c) => void chunks.push({ ...c, data: Uint8Array.from(c.data) }) };
}

describe('etcd-snapshot', () => {
  it('GIVEN a healthy member WHEN run THEN it saves, checks, sends the file in order with size and sha256, and removes it; a second run is a no-op', async () => {
    const host = etcdHost();
    expectSnapshot(host);
    const sent = recorder();

    const result = await runStep(
      etcdSnapshotStep,
      { snapshotId: 'snap-1', chunkBytes: 4096 },
      { host, ref, sendSnapshotChunk: sent.send },
    );

    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    const bytes = Buffer.from(snapshotBytes);
    const data = sent.chunks.filter((c) => !c.last);
    expect(data.map((c) => c.offset)).toEqual([0, 4096, 8192, 12288, 16384]);
    expect(Buffer.concat(data.map((c) => c.data))).toEqual(bytes);
    expect(sent.chunks.every((c) => c.runId === 'run-1' && c.stepId === ref.stepId && c.snapshotId === 'snap-1')).toBe(
      true,
    );
    expect(sent.chunks.at(-1)).toMatchObject({
      last: true,
      offset: bytes.length,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      revision: 1234,
      totalKeys: 987,
      hash: 3041513337,
    });
    expect(host.file(path)).toBeUndefined();
    expect(host.file(lastSentFile)).toBe('snap-1\n');

    host.clearRecords();
    const again = await runStep(
      etcdSnapshotStep,
      { snapshotId: 'snap-1' },
      { host, ref, sendSnapshotChunk: sent.send },
    );
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
    expect(host.commandLines()).toEqual([]);
    expect(sent.chunks.filter((c) => c.last)).toHaveLength(1);
  });

  it('GIVEN a file left by a cut-off attempt WHEN run THEN it is removed before the new snapshot is saved', async () => {
    const host = etcdHost();
    host.setFile('/var/lib/etcd/kubeha-snapshot-old.db', 'stale', 0o600);
    expectSnapshot(host);
    const sent = recorder();

    const dry = await runStep(etcdSnapshotStep, { snapshotId: 'snap-1' }, { host, dryRun: true });
    expect(dry.changes).toEqual([
      'remove /var/lib/etcd/kubeha-snapshot-old.db',
      `save etcd snapshot snap-1 (etcdctl snapshot save ${path}), check it with etcdutl snapshot status and send it to the coordinator`,
    ]);
    expect(host.commandLines()).toEqual([]);

    const result = await runStep(
      etcdSnapshotStep,
      { snapshotId: 'snap-1' },
      { host, ref, sendSnapshotChunk: sent.send },
    );
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(host.file('/var/lib/etcd/kubeha-snapshot-old.db')).toBeUndefined();
  });

  it('GIVEN an unhealthy member (crictl drops the output of a failing etcdctl) WHEN run THEN it fails saying so and saves nothing', async () => {
    const host = new FakeHost();
    host.stub('crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'], {
      stdout: `${container}\n`,
    });
    host.stub('crictl', etcdctl('endpoint', 'health', '-w', 'json'), { exitCode: 1, stdout: '' });

    const result = await runStep(
      etcdSnapshotStep,
      { snapshotId: 'snap-1' },
      { host, ref, sendSnapshotChunk: recorder().send },
    );

    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(
      /etcd member on this node is not healthy \(etcdctl endpoint health exited with 1\)/,
    );
    expect(host.commandLines().some((l) => l.includes('snapshot save'))).toBe(false);
    expect(host.file(lastSentFile)).toBeUndefined();
  });

  it('GIVEN the session fails mid-send WHEN run THEN the step fails, the node keeps no copy and nothing is marked sent', async () => {
    const host = etcdHost();
    expectSnapshot(host);
    let calls = 0;
    const send = async () => {
      if (++calls === 2) throw new Error('the session with the coordinator ended while sending the etcd snapshot');
    };

    const result = await runStep(
      etcdSnapshotStep,
      { snapshotId: 'snap-1', chunkBytes: 4096 },
      { host, ref, sendSnapshotChunk: send },
    );

    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toContain('session with the coordinator ended');
    expect(host.file(path)).toBeUndefined();
    expect(host.file(lastSentFile)).toBeUndefined();
  });

  it('GIVEN a failing snapshot save WHEN run THEN the failure names the command and its exit code', async () => {
    const host = etcdHost();
    host.expect('crictl', etcdctl('snapshot', 'save', path), {
      exitCode: 1,
      stderr: 'Error: context deadline exceeded',
    });

    const result = await runStep(
      etcdSnapshotStep,
      { snapshotId: 'snap-1' },
      { host, ref, sendSnapshotChunk: recorder().send },
    );

    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ exitCode: 1, stderrTail: 'Error: context deadline exceeded' });
    expect(result.error?.command).toContain('snapshot save /var/lib/etcd/kubeha-snapshot-snap-1.db');
  });

  it('GIVEN no session (run from the command line) WHEN run THEN it fails saying where to start it', async () => {
    const host = etcdHost();
    expectSnapshot(host);
    const result = await runStep(etcdSnapshotStep, { snapshotId: 'snap-1' }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toContain('kubeha etcd snapshot');
    expect(host.file(path)).toBeUndefined();
  });

  it('GIVEN an id that could leave the directory or an oversized chunk WHEN parsed THEN refused naming the field', async () => {
    const host = new FakeHost();
    const bad = await runStep(etcdSnapshotStep, { snapshotId: '../etc/x', chunkBytes: 64 * 1024 * 1024 }, { host });
    expect(bad.outcome).toBe('failed');
    expect(bad.error?.message).toContain('etcd-snapshot.snapshotId');
    expect(bad.error?.message).toContain('etcd-snapshot.chunkBytes');
    expect(bad.error?.deterministic).toBe(true);
  });
});
