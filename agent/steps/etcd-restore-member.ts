import { createHash } from 'node:crypto';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import {
  type EtcdRestoreMemberParams,
  EtcdRestoreMemberParamsSchema,
} from '../../proto/step-params/etcd-restore-member-params.ts';
import type { Host } from '../host/host.ts';
import {
  etcdContainerId,
  etcdctl,
  etcdutl,
  parseEndpointHealth,
  parseEndpointStatus,
  parseMemberList,
  urlHost,
} from '../kubeadm/etcdctl.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { type PlannedChange, plannedStep, type StepContext, type StepDefinition } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams } from '../step-execution/step-params.ts';
import { runningContainers } from './certs-renew.ts';
import {
  type EtcdRestoreWaitOptions,
  manifestIn,
  parkManifests,
  restoreParkedDir,
  waitUntil,
} from './etcd-restore-stop.ts';

const defaults: EtcdRestoreWaitOptions = { pollMs: 2_000, now: () => Date.now() };

const dataDir = kubeadmPaths.etcdDataDir;

/** Where the snapshot a restore uses is on the node: inside etcd's data dir, which its container sees at the same path. */
export function restoreSnapshotPath(snapshotId: string): string {
  return `${dataDir}/kubeha-restore-${snapshotId}.db`;
}

/** etcdutl writes the restored member here (inside the data dir, so that moving it in place is a rename). */
export const stagingDir = (restoreId: string) => `${dataDir}/kubeha-restore-${restoreId}`;
/** The member data etcd had before the restore, kept for the operator. */
export const asideDir = (restoreId: string) => `${dataDir}/kubeha-before-restore-${restoreId}`;
/** Markers of what this restore has done on this node. */
export const restoreMarkerDir = (restoreId: string) => `/var/lib/kubeha/etcd-restore/${restoreId}`;
export const clusterToken = (restoreId: string) => `kubeha-restore-${restoreId}`;

function marker(restoreId: string, name: 'swapped' | 'restored' | 'cleared' | 'joined'): string {
  return `${restoreMarkerDir(restoreId)}/${name}`;
}

async function mark(host: Host, restoreId: string, name: 'swapped' | 'restored' | 'cleared' | 'joined') {
  await host.mkdir(restoreMarkerDir(restoreId), 0o700);
  await host.writeFileAtomic(marker(restoreId, name), `${new Date().toISOString()}\n`, 0o600);
}

function parseParams(raw: unknown): EtcdRestoreMemberParams {
  return parseStepParams('etcd-restore-member', EtcdRestoreMemberParamsSchema, raw, (p) => {
    const problems: string[] = [];
    if (!isIpAddress(urlHost(p.memberPeerUrl))) problems.push('memberPeerUrl: not https://IP:port');
    if (p.role === 'restore' && (!p.snapshotId || !p.snapshotSha256)) {
      problems.push('snapshotId, snapshotSha256: a restore needs the snapshot and what it must be');
    }
    if (p.role === 'join' && (!p.initialCluster || !p.restoredClientUrl)) {
      problems.push('initialCluster, restoredClientUrl: a join needs the members and the restored member');
    }
    return problems;
  });
}

/** The local member's health; crictl drops a failing etcdctl's answer, so only a zero exit with "health" counts. */
async function localHealthProblems(host: Host): Promise<string[]> {
  let container: string;
  try {
    container = await etcdContainerId(host);
  } catch {
    return ['no running etcd container (crictl ps)'];
  }
  const r = await etcdctl(host, container, ['endpoint', 'health', '-w', 'json'], true);
  const health = r.exitCode === 0 && r.stdout.trim() ? parseEndpointHealth(r.stdout) : [];
  if (health.length > 0 && health.every((h) => h.healthy)) return [];
  return [`etcdctl endpoint health: ${health.find((h) => h.error)?.error ?? `exit ${r.exitCode}`}`];
}

async function sha256Of(host: Host, path: string): Promise<{ size: number; sha256: string }> {
  const sha = createHash('sha256');
  let size = 0;
  for await (const data of host.readChunks(path, 1024 * 1024)) {
    sha.update(data);
    size += data.length;
  }
  return { size, sha256: sha.digest('hex') };
}

/** `etcdutl snapshot restore` into the staging directory: in this node's etcd container when one runs, else the host's. */
async function restoreSnapshot(
  ctx: StepContext<EtcdRestoreMemberParams>,
  options: EtcdRestoreWaitOptions,
): Promise<void> {
  const { host, params } = ctx;
  const file = restoreSnapshotPath(params.snapshotId!);
  // The coordinator sends the file just before the step: its last pieces may still be being written.
  await waitUntil(
    ctx.signal,
    options,
    `snapshot ${params.snapshotId} arriving from the coordinator`,
    params.waitTimeoutSeconds,
    async () =>
      (await host.exists(file)) ? [] : [`${file} is not on this node (the coordinator sends it before the step)`],
  );
  const got = await sha256Of(host, file);
  if (got.sha256 !== params.snapshotSha256) {
    throw new KubehaError(
      ErrorCode.stepFailed,
      `${file} (${got.size} bytes) has sha256 ${got.sha256}, not ${params.snapshotSha256} of snapshot ${params.snapshotId}: not restored`,
    );
  }
  const partial = `${stagingDir(params.restoreId)}-partial`;
  // etcdutl refuses a target that exists: a cut-off attempt's is removed.
  await host.remove(partial);
  const args = [
    'snapshot',
    'restore',
    file,
    '--name',
    params.memberName,
    '--initial-cluster',
    `${params.memberName}=${params.memberPeerUrl}`,
    '--initial-cluster-token',
    clusterToken(params.restoreId),
    '--initial-advertise-peer-urls',
    params.memberPeerUrl,
    '--data-dir',
    partial,
  ];
  if ((await runningContainers(host, ['etcd'])).length > 0) {
    await etcdutl(host, await etcdContainerId(host), args);
  } else {
    // No etcd container to run it in (etcd crashed on this node too): the host's own etcdutl, if it has one.
    const found = await host.exec('sh', ['-c', 'command -v etcdutl'], { allowFailure: true, onLine: () => {} });
    if (found.exitCode !== 0) {
      throw new KubehaError(
        ErrorCode.stepFailed,
        'no running etcd container on this node to run etcdutl in, and no etcdutl on its PATH: install etcdutl (the etcd release kubeadm pins) on this node and run the restore again',
      );
    }
    await host.exec('etcdutl', args, { onLine: () => {} });
  }
  await host.rename(partial, stagingDir(params.restoreId));
  ctx.log(`restored snapshot ${params.snapshotId} into ${stagingDir(params.restoreId)} as member ${params.memberName}`);
}

/** Stops etcd, keeps its member data in the aside directory and puts the restored member in its place. */
async function swapDataDir(
  ctx: StepContext<EtcdRestoreMemberParams>,
  options: EtcdRestoreWaitOptions,
  fromStaging: boolean,
) {
  const { host, params } = ctx;
  await stopEtcd(ctx, options);
  const aside = asideDir(params.restoreId);
  await host.mkdir(aside, 0o700);
  if (await host.exists(`${dataDir}/member`)) await host.rename(`${dataDir}/member`, `${aside}/member`);
  if (fromStaging) {
    await host.rename(`${stagingDir(params.restoreId)}/member`, `${dataDir}/member`);
    await host.remove(stagingDir(params.restoreId));
    await host.remove(restoreSnapshotPath(params.snapshotId!));
  }
  ctx.log(`etcd's member data before the restore is kept in ${aside}/member`);
}

async function stopEtcd(ctx: StepContext<EtcdRestoreMemberParams>, options: EtcdRestoreWaitOptions) {
  const { host, params } = ctx;
  await parkManifests(host, restoreParkedDir(params.restoreId), ['etcd']);
  await waitUntil(ctx.signal, options, 'the kubelet stopping etcd', params.waitTimeoutSeconds, async () =>
    (await runningContainers(host, ['etcd'])).map((n) => `${n} still runs`),
  );
}

async function startEtcd(host: Host, restoreId: string): Promise<void> {
  const parked = manifestIn(restoreParkedDir(restoreId), 'etcd');
  if (await host.exists(parked)) await host.rename(parked, manifestIn(kubeadmPaths.manifestsDir, 'etcd'));
}

function planRestore(ctx: StepContext<EtcdRestoreMemberParams>, options: EtcdRestoreWaitOptions) {
  return async (): Promise<PlannedChange[]> => {
    const { host, params } = ctx;
    const id = params.restoreId;
    if (await host.exists(marker(id, 'restored'))) {
      ctx.log(`etcd was already restored on this node by restore ${id}: nothing to do`);
      return [];
    }
    const changes: PlannedChange[] = [];
    const swapped = await host.exists(marker(id, 'swapped'));
    if (!swapped && !(await host.exists(stagingDir(id)))) {
      changes.push({
        description: `check ${restoreSnapshotPath(params.snapshotId!)} (sha256 ${params.snapshotSha256}) and restore it with etcdutl snapshot restore as member ${params.memberName} (${params.memberPeerUrl}), cluster token ${clusterToken(id)}, into ${stagingDir(id)}`,
        apply: () => restoreSnapshot(ctx, options),
      });
    }
    if (!swapped) {
      changes.push({
        description: `stop etcd, move its member data to ${asideDir(id)}/member and the restored member to ${dataDir}/member`,
        apply: async () => {
          await swapDataDir(ctx, options, true);
          await mark(host, id, 'swapped');
        },
      });
    }
    changes.push({
      description: `start etcd with the restored data and wait until it is healthy, the only member of its cluster`,
      apply: async () => {
        await startEtcd(host, id);
        await waitUntil(ctx.signal, options, 'the restored etcd member', params.waitTimeoutSeconds, () =>
          localHealthProblems(host),
        );
        const members = parseMemberList(
          (await etcdctl(host, await etcdContainerId(host), ['member', 'list', '-w', 'json'])).stdout,
        );
        if (members.length !== 1 || members[0]!.name !== params.memberName) {
          throw new KubehaError(
            ErrorCode.stepFailed,
            `the restored etcd has members ${members.map((m) => m.name || m.id).join(', ')}, not only ${params.memberName}`,
          );
        }
        await mark(host, id, 'restored');
      },
    });
    return changes;
  };
}

function planAddMember(ctx: StepContext<EtcdRestoreMemberParams>) {
  return async (): Promise<PlannedChange[]> => {
    const { host, params } = ctx;
    const container = await etcdContainerId(host);
    const members = parseMemberList((await etcdctl(host, container, ['member', 'list', '-w', 'json'])).stdout);
    const found = members.find((m) => m.peerUrls.includes(params.memberPeerUrl));
    if (found) {
      ctx.log(
        `${params.memberName} (${params.memberPeerUrl}) is already a member (${found.id}${found.isLearner ? ', learner' : ''}): nothing to add`,
      );
      return [];
    }
    return [
      {
        description: `etcdctl member add ${params.memberName} --peer-urls=${params.memberPeerUrl} --learner (through the restored member)`,
        apply: async () => {
          await etcdctl(host, container, [
            'member',
            'add',
            params.memberName,
            `--peer-urls=${params.memberPeerUrl}`,
            '--learner',
          ]);
        },
      },
    ];
  };
}

/** The etcd manifest's --initial-cluster and --initial-cluster-state made those of a member joining a running cluster. */
export function joiningManifest(yaml: string, initialCluster: string): string {
  const lines = yaml.split('\n');
  const flag = (name: string) => lines.findIndex((l) => new RegExp(`^\\s*- --${name}=`).test(l));
  const at = flag('initial-cluster');
  if (at < 0) throw new KubehaError(ErrorCode.stepFailed, 'the etcd manifest has no --initial-cluster flag');
  const indent = /^(\s*)-/.exec(lines[at]!)![1];
  lines[at] = `${indent}- --initial-cluster=${initialCluster}`;
  const state = flag('initial-cluster-state');
  if (state >= 0) lines[state] = `${indent}- --initial-cluster-state=existing`;
  else lines.splice(at + 1, 0, `${indent}- --initial-cluster-state=existing`);
  return lines.join('\n');
}

/** Problems left before this node's member is a healthy voting member; promotes it once it has caught up. */
async function joinProblems(ctx: StepContext<EtcdRestoreMemberParams>): Promise<string[]> {
  const { host, params } = ctx;
  let container: string;
  try {
    container = await etcdContainerId(host);
  } catch {
    return ['no running etcd container (crictl ps)'];
  }
  const list = await etcdctl(host, container, ['member', 'list', '-w', 'json'], true, params.restoredClientUrl);
  if (list.exitCode !== 0) return [`etcdctl member list through ${params.restoredClientUrl}: exit ${list.exitCode}`];
  const self = parseMemberList(list.stdout).find((m) => m.peerUrls.includes(params.memberPeerUrl));
  if (!self) return [`${params.memberPeerUrl} is not a member of the restored cluster`];
  if (self.isLearner) {
    // etcd refuses while the learner is behind the leader: the next poll tries again.
    const promote = await etcdctl(host, container, ['member', 'promote', self.id], true, params.restoredClientUrl);
    if (promote.exitCode !== 0) return [`${params.memberName} is a learner not yet in sync (member promote refused)`];
    ctx.log(`promoted ${params.memberName} (${self.id}) to a voting member`);
  }
  const status = await etcdctl(host, container, ['endpoint', 'status', '-w', 'json'], true);
  const [local] = status.exitCode === 0 ? parseEndpointStatus(status.stdout) : [];
  if (!local) return ['etcdctl endpoint status: no answer from the local member'];
  if (local.isLearner) return [`${params.memberName} is still a learner`];
  return localHealthProblems(host);
}

function planJoin(ctx: StepContext<EtcdRestoreMemberParams>, options: EtcdRestoreWaitOptions) {
  return async (): Promise<PlannedChange[]> => {
    const { host, params } = ctx;
    const id = params.restoreId;
    if (await host.exists(marker(id, 'joined'))) {
      ctx.log(`${params.memberName} already joined the restored etcd in restore ${id}: nothing to do`);
      return [];
    }
    const changes: PlannedChange[] = [];
    if (!(await host.exists(marker(id, 'cleared')))) {
      changes.push({
        description: `stop etcd and move its member data to ${asideDir(id)}/member`,
        apply: async () => {
          await swapDataDir(ctx, options, false);
          await mark(host, id, 'cleared');
        },
      });
    }
    const parked = manifestIn(restoreParkedDir(id), 'etcd');
    changes.push({
      description: `set --initial-cluster=${params.initialCluster} and --initial-cluster-state=existing in the etcd manifest, start etcd and wait until ${params.memberName} is a healthy voting member (promoted through ${params.restoredClientUrl})`,
      apply: async () => {
        const text = await host.readFile(parked);
        if (text !== undefined) {
          await host.writeFileAtomic(parked, joiningManifest(text, params.initialCluster!), 0o600);
          await startEtcd(host, id);
        } else if (!(await host.exists(manifestIn(kubeadmPaths.manifestsDir, 'etcd')))) {
          throw new KubehaError(
            ErrorCode.stepFailed,
            `no etcd manifest in ${restoreParkedDir(id)} nor ${kubeadmPaths.manifestsDir}`,
          );
        }
        await waitUntil(
          ctx.signal,
          options,
          `${params.memberName} joining the restored etcd`,
          params.waitTimeoutSeconds,
          () => joinProblems(ctx),
        );
        await mark(host, id, 'joined');
      },
    });
    return changes;
  };
}

/**
 * One etcd member of a restore (see the roles in its parameters). Each part leaves a marker under
 * /var/lib/kubeha/etcd-restore/ID, so a step run again after it finished changes nothing, and one cut off finishes.
 */
export function createEtcdRestoreMemberStep(
  options: EtcdRestoreWaitOptions = defaults,
): StepDefinition<EtcdRestoreMemberParams> {
  return plannedStep<EtcdRestoreMemberParams>({
    kind: 'etcd-restore-member',
    parseParams,
    plan: (ctx) => {
      if (ctx.params.role === 'restore') return planRestore(ctx, options)();
      if (ctx.params.role === 'add-member') return planAddMember(ctx)();
      return planJoin(ctx, options)();
    },
  });
}

export const etcdRestoreMemberStep = createEtcdRestoreMemberStep();
