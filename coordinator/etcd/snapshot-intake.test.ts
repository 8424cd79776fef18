import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import type { SnapshotChunk } from '../../proto/convert.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { notStartedStep, type StepRecord } from '../store/store.ts';
import { SnapshotIntake } from './snapshot-intake.ts';
import { SnapshotStore } from './snapshot-store.ts';

const step: StepRecord = {
  runId: 'run-1',
  id: 'etcd-snapshot/cp1',
  seq: 0,
  kind: 'etcd-snapshot',
  node: 'cp1',
  dependsOn: [],
  timeoutSeconds: 600,
  retry: { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 },
  params: { snapshotId: 'snap-1' },
  concurrencyGroup: null,
  bestEffort: false,
  forNode: null,
  ...notStartedStep(),
  state: 'running',
  attempt: 1,
  agentId: 'agent-a',
};

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function intake(keep?: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'kubeha-intake-'));
  const db = new SqliteStore(join(dataDir, 'coordinator.db'));
  cleanups.push(() => {
    db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const snapshots = new SnapshotStore(dataDir, db);
  const receiver = new SnapshotIntake({
    snapshots,
    logger: createLogger({ name: 'test', level: 'silent' }),
    now: () => 1_000,
    stepInFlight: (runId, stepId) =>
      runId === step.runId && stepId === step.id ? { cluster: 'prod', step } : undefined,
    keepOf: () => keep,
  });
  return { receiver, snapshots };
}

function chunks(bytes: Buffer, size: number): SnapshotChunk[] {
  const base = { runId: 'run-1', stepId: step.id, attempt: 1, snapshotId: 'snap-1' };
  const blank = { last: false, size: 0, sha256: '', revision: 0, totalKeys: 0, hash: 0 };
  const list: SnapshotChunk[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    list.push({ ...base, ...blank, offset, data: bytes.subarray(offset, offset + size) });
  }
  list.push({
    ...base,
    offset: bytes.length,
    data: new Uint8Array(0),
    last: true,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    revision: 5,
    totalKeys: 6,
    hash: 7,
  });
  return list;
}

describe('SnapshotIntake', () => {
  it('GIVEN chunks from another agent WHEN received THEN ignored, and the step fails saying no snapshot arrived', () => {
    const { receiver, snapshots } = intake();
    for (const c of chunks(Buffer.from('snapshot bytes'), 4)) receiver.chunk('agent-b', c);

    expect(snapshots.list('prod')).toEqual([]);
    expect(receiver.settle('prod', step).failure).toMatchObject({
      message: 'etcd snapshot snap-1 from cp1 was not kept: no snapshot arrived on the agent\u2019s session',
      deterministic: true,
    });
  });

  it('GIVEN the agent loses its session mid-upload WHEN its step reports THEN it fails naming that, no partial file left', () => {
    const { receiver, snapshots } = intake();
    const list = chunks(Buffer.from('snapshot bytes'), 4);
    receiver.chunk('agent-a', list[0]!);
    receiver.agentDisconnected('agent-a');

    expect(readdirSync(join(snapshots.directory, 'prod'))).toEqual([]);
    expect(receiver.settle('prod', step).failure?.message).toContain(
      'the agent lost its session before the whole snapshot arrived',
    );
  });

  it('GIVEN a send restarted from offset 0 (the agent restarted) WHEN it completes THEN the snapshot is kept and settled', () => {
    const { receiver, snapshots } = intake();
    const bytes = Buffer.from('0123456789abcdef');
    const list = chunks(bytes, 4);
    receiver.chunk('agent-a', list[0]!);
    receiver.chunk('agent-a', list[1]!);
    for (const c of list) receiver.chunk('agent-a', c);

    expect(snapshots.list('prod')).toEqual([
      expect.objectContaining({
        id: 'snap-1',
        node: 'cp1',
        sizeBytes: 16,
        revision: 5,
        totalKeys: 6,
        takenAtMs: 1_000,
      }),
    ]);
    expect(receiver.settle('prod', step)).toEqual({
      notes: [
        `etcd snapshot snap-1 kept: 16 bytes, revision 5, 6 keys, sha256 ${createHash('sha256').update(bytes).digest('hex')}`,
      ],
    });
  });

  it('GIVEN a chunk at an offset with no upload in progress WHEN received THEN refused, and the step fails naming it', () => {
    const { receiver } = intake();
    receiver.chunk('agent-a', chunks(Buffer.from('snapshot bytes'), 4)[1]!);
    expect(receiver.settle('prod', step).failure?.message).toContain('a chunk at offset 4 but no upload in progress');
  });

  it('GIVEN the spec keeps 1 and an older snapshot WHEN a new one is settled THEN the older is deleted and the notes say so', () => {
    const { receiver, snapshots } = intake(1);
    const old = Buffer.from('older');
    const upload = snapshots.beginUpload('prod', 'old');
    upload.write(0, old);
    upload.finish({
      node: 'cp1',
      takenAtMs: 1,
      sizeBytes: old.length,
      sha256: createHash('sha256').update(old).digest('hex'),
      revision: 1,
      totalKeys: 1,
      hash: 1,
      runId: null,
    });
    for (const c of chunks(Buffer.from('newer snapshot'), 4)) receiver.chunk('agent-a', c);

    expect(receiver.settle('prod', step).notes.at(-1)).toBe('pruned to the newest 1: deleted old');
    expect(snapshots.list('prod').map((r) => r.id)).toEqual(['snap-1']);
  });
});
