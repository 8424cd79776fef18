import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotReceiver } from '../../agent/session/snapshot-receiver.ts';
import { type MessageToAgent, snapshotDataFromProto } from '../../proto/convert.ts';
import type { SnapshotData__Output } from '../../proto/generated/kubeha/v1/SnapshotData.ts';
import { capturedLogger } from '../../test/support/captured-logs.ts';
import type { SnapshotRecord } from '../store/store.ts';
import { SnapshotSender } from './snapshot-sender.ts';

/** As the agent decodes it off the wire. */
const pieceOf = (m: MessageToAgent) => snapshotDataFromProto(m.snapshot_data as SnapshotData__Output)!;

const bytes = Buffer.from('etcd bolt pages '.repeat(40_000));
const sha256 = createHash('sha256').update(bytes).digest('hex');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(record: Partial<SnapshotRecord> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kubeha-snapshot-sender-'));
  dirs.push(dir);
  const file = join(dir, 'stored.db');
  writeFileSync(file, bytes);
  const snapshots = {
    get: (_cluster: string, id: string) =>
      id === 'snap-1'
        ? ({ id, cluster: 'prod-a', sizeBytes: bytes.length, sha256, ...record } as SnapshotRecord)
        : undefined,
    filePath: () => file,
  };
  const agentLog = capturedLogger('agent');
  const receiver = new SnapshotReceiver({ pathOf: (id) => join(dir, `node-${id}.db`), logger: agentLog.logger });
  const sent: MessageToAgent[] = [];
  const written: Promise<void>[] = [];
  const sender = new SnapshotSender({
    snapshots,
    logger: capturedLogger('coordinator').logger,
    send: async (_agentId, message) => {
      sent.push(message);
      written.push(receiver.handle(pieceOf(message)));
      return true;
    },
  });
  return { dir, sender, sent, written, agentLines: agentLog.lines, receiver, snapshots };
}

describe('etcd snapshot sent for a restore', () => {
  it('GIVEN a stored snapshot WHEN sent THEN the agent writes it whole, in order, and keeps it only after the last piece', async () => {
    const { dir, sender, sent, written } = setup();
    await sender.send('agent-1', 'prod-a', { runId: 'run-1', stepId: 'etcd-restore/cp1' }, 'snap-1');
    await Promise.all(written);

    const pieces = sent.map(pieceOf);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.slice(0, -1).every((p) => p.data.length <= 256 * 1024 && !p.last)).toBe(true);
    expect(pieces.at(-1)).toMatchObject({ last: true, size: bytes.length, sha256, offset: bytes.length });
    expect(readFileSync(join(dir, 'node-snap-1.db'))).toEqual(bytes);
  });

  it('GIVEN a last piece announcing another sha256 WHEN received THEN no file is kept and the agent says why', async () => {
    const { dir, sent, written, agentLines, sender, receiver } = setup();
    await sender.send('agent-1', 'prod-a', { runId: 'run-1', stepId: 's' }, 'snap-1');
    await Promise.all(written);
    // The same transfer again, its last piece altered.
    const pieces = sent.map(pieceOf);
    const again = [...pieces.slice(0, -1), { ...pieces.at(-1)!, sha256: '0'.repeat(64) }];
    rmSync(join(dir, 'node-snap-1.db'));
    for (const p of again) await receiver.handle(p);
    expect(() => readFileSync(join(dir, 'node-snap-1.db'))).toThrow();
    expect(agentLines.some((l) => l.includes('its size or sha256 is not what the coordinator announced'))).toBe(true);
  });

  it('GIVEN a stored file that no longer matches its record WHEN sent THEN the sender refuses before the last piece', async () => {
    const { sender, sent } = setup({ sha256: 'f'.repeat(64) });
    await expect(sender.send('agent-1', 'prod-a', { runId: 'run-1', stepId: 's' }, 'snap-1')).rejects.toThrow(
      /not the \d+ bytes with sha256 f{64} recorded for snapshot snap-1: not sent/,
    );
    expect(sent.some((m) => m.snapshot_data?.last)).toBe(false);
  });

  it('GIVEN an agent gone WHEN sent THEN it fails naming the agent', async () => {
    const { snapshots } = setup();
    const gone = new SnapshotSender({
      snapshots,
      logger: capturedLogger('c').logger,
      send: async () => false,
    });
    await expect(gone.send('agent-9', 'prod-a', { runId: 'r', stepId: 's' }, 'snap-1')).rejects.toThrow(
      'agent agent-9 left while snapshot snap-1 was sent',
    );
  });
});
