import { createHash } from 'node:crypto';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { type EtcdSnapshotParams, EtcdSnapshotParamsSchema } from '../../proto/step-params/etcd-snapshot-params.ts';
import { etcdContainerId, etcdctl, etcdutl, parseEndpointHealth, parseSnapshotStatus } from '../kubeadm/etcdctl.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

/** kubeadm's etcd pod mounts this host directory at the same path: a file etcdctl writes there is on the host. */
export const etcdDataDir = '/var/lib/etcd';
const filePrefix = 'kubeha-snapshot-';
/** The id of the last snapshot this node sent whole, so that the step sent again finds nothing to do. */
export const lastSentFile = '/var/lib/kubeha/etcd-snapshot-sent';

export function snapshotPath(id: string): string {
  return `${etcdDataDir}/${filePrefix}${id}.db`;
}

function parseParams(raw: unknown): EtcdSnapshotParams {
  return parseStepParams('etcd-snapshot', EtcdSnapshotParamsSchema, raw);
}

async function ensureHealthy(ctx: StepContext<EtcdSnapshotParams>, container: string): Promise<void> {
  // crictl exec --sync drops the command's output when it exits non-zero: an unhealthy member leaves no JSON.
  const answer = await etcdctl(ctx.host, container, ['endpoint', 'health', '-w', 'json'], true);
  const health = answer.stdout.trim() ? parseEndpointHealth(answer.stdout) : [];
  if (answer.exitCode !== 0 || !health.some((h) => h.healthy)) {
    const why = health.find((h) => h.error)?.error ?? `etcdctl endpoint health exited with ${answer.exitCode}`;
    throw new KubehaError(
      ErrorCode.stepFailed,
      `the etcd member on this node is not healthy (${why}); take the snapshot on a healthy control plane`,
    );
  }
}

/** Saves the snapshot, has etcdutl check it, sends it in chunks with its size and sha256, then removes it. */
async function saveAndSend(ctx: StepContext<EtcdSnapshotParams>): Promise<void> {
  const { host, params } = ctx;
  const path = snapshotPath(params.snapshotId);
  const container = await etcdContainerId(host);
  await ensureHealthy(ctx, container);
  try {
    await etcdctl(host, container, ['snapshot', 'save', path]);
    const status = parseSnapshotStatus(
      (await etcdutl(host, container, ['snapshot', 'status', path, '-w', 'json'])).stdout,
    );
    ctx.log(
      `etcd snapshot ${params.snapshotId}: revision ${status.revision}, ${status.totalKeys} keys, hash ${status.hash}`,
    );
    const sha = createHash('sha256');
    let offset = 0;
    for await (const data of host.readChunks(path, params.chunkBytes)) {
      sha.update(data);
      await ctx.sendSnapshotChunk(blankChunk(params.snapshotId, offset, data));
      offset += data.length;
    }
    const sha256 = sha.digest('hex');
    await ctx.sendSnapshotChunk({
      ...blankChunk(params.snapshotId, offset, new Uint8Array(0)),
      last: true,
      size: offset,
      sha256,
      revision: status.revision,
      totalKeys: status.totalKeys,
      hash: status.hash,
    });
    ctx.log(`etcd snapshot ${params.snapshotId}: sent ${offset} bytes, sha256 ${sha256}`);
    await host.writeFileAtomic(lastSentFile, `${params.snapshotId}\n`, 0o600);
  } finally {
    // The copy on the node is only a means of sending it: it must not fill the etcd disk.
    await host.remove(path);
  }
}

function blankChunk(snapshotId: string, offset: number, data: Uint8Array) {
  return { snapshotId, offset, data, last: false, size: 0, sha256: '', revision: 0, totalKeys: 0, hash: 0 };
}

async function plan(ctx: StepContext<EtcdSnapshotParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const changes: PlannedChange[] = [];
  // Left by an attempt that was cut off (agent stopped, session lost); etcd warns of unknown files in its data dir.
  for (const name of await host.listDir(etcdDataDir)) {
    if (!name.startsWith(filePrefix)) continue;
    changes.push({ description: `remove ${etcdDataDir}/${name}`, apply: () => host.remove(`${etcdDataDir}/${name}`) });
  }
  if ((await host.readFile(lastSentFile))?.trim() !== params.snapshotId) {
    changes.push({
      description: `save etcd snapshot ${params.snapshotId} (etcdctl snapshot save ${snapshotPath(params.snapshotId)}), check it with etcdutl snapshot status and send it to the coordinator`,
      apply: () => saveAndSend(ctx),
    });
  }
  return changes;
}

/**
 * Takes an etcd snapshot on this control plane through its etcd static pod (crictl exec, etcdctl and etcdutl),
 * streams it to the coordinator over the agent's session, and leaves nothing behind on the node. The coordinator
 * keeps it only when the bytes it received have the size and sha256 the last chunk announces.
 */
export const etcdSnapshotStep = plannedStep<EtcdSnapshotParams>({
  kind: 'etcd-snapshot',
  parseParams,
  plan,
});
