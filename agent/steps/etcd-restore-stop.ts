import { ErrorCode, KubehaError } from '../../common/errors.ts';
import {
  type EtcdRestoreStopParams,
  EtcdRestoreStopParamsSchema,
  restoreStoppedPods,
} from '../../proto/step-params/etcd-restore-stop-params.ts';
import type { Host } from '../host/host.ts';
import { etcdContainerId, etcdctl, healthOfMembers, parseMemberList } from '../kubeadm/etcdctl.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { type PlannedChange, plannedStep, type StepContext, type StepDefinition } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';
import { runningContainers } from './certs-renew.ts';

export interface EtcdRestoreWaitOptions {
  pollMs: number;
  now: () => number;
}

const defaults: EtcdRestoreWaitOptions = { pollMs: 2_000, now: () => Date.now() };

/** Outside the directory the kubelet reads: a manifest in here is a static pod an etcd restore stopped. */
export function restoreParkedDir(restoreId: string): string {
  return `/etc/kubernetes/kubeha-etcd-restore-${restoreId}`;
}

export const manifestIn = (dir: string, pod: string) => `${dir}/${pod}.yaml`;

/** Polls `problemsNow` until it answers nothing, or fails with what it last answered after `timeoutSeconds`. */
export async function waitUntil(
  signal: AbortSignal,
  options: EtcdRestoreWaitOptions,
  what: string,
  timeoutSeconds: number,
  problemsNow: () => Promise<string[]>,
): Promise<void> {
  const deadline = options.now() + timeoutSeconds * 1000;
  for (;;) {
    const problems = await problemsNow();
    if (problems.length === 0) return;
    if (options.now() >= deadline || signal.aborted) {
      throw new KubehaError(
        ErrorCode.stepFailed,
        `${what}: not done after ${timeoutSeconds} s: ${problems.join('; ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.pollMs));
  }
}

/** Moves the named static pods' manifests into `dir` (those still in the manifests directory). */
export async function parkManifests(host: Host, dir: string, pods: readonly string[]): Promise<void> {
  await host.mkdir(dir, 0o700);
  for (const pod of pods) {
    if (await host.exists(manifestIn(kubeadmPaths.manifestsDir, pod))) {
      await host.rename(manifestIn(kubeadmPaths.manifestsDir, pod), manifestIn(dir, pod));
    }
  }
}

/**
 * Why the restore is refused: the voting members this node's etcd knows (a serializable member list, which answers
 * without quorum), each asked for its health, make a quorum. Undefined when they do not, or when no etcd runs here.
 */
export async function quorumRefusal(host: Host, snapshotTakenAt: string | undefined): Promise<string | undefined> {
  let container: string;
  try {
    container = await etcdContainerId(host);
  } catch {
    return undefined;
  }
  const list = await etcdctl(host, container, ['member', 'list', '--consistency=s', '-w', 'json'], true);
  if (list.exitCode !== 0 || !list.stdout.trim()) return undefined;
  const voters = parseMemberList(list.stdout).filter((m) => !m.isLearner);
  const health = await healthOfMembers(host, container, voters);
  const healthy = voters.filter((m) => health.some((h) => h.healthy && m.clientUrls.includes(h.endpoint)));
  const quorum = Math.floor(voters.length / 2) + 1;
  if (healthy.length < quorum) return undefined;
  return (
    `etcd has quorum: ${healthy.length} of ${voters.length} voting members healthy (${healthy.map((m) => m.name || m.id).join(', ')}), ` +
    `${quorum} needed. A restore rolls back every change made to the cluster since the snapshot was taken` +
    `${snapshotTakenAt ? ` (${snapshotTakenAt})` : ''}; nothing was stopped. Restore anyway with --force`
  );
}

function plan(options: EtcdRestoreWaitOptions) {
  return async (ctx: StepContext<EtcdRestoreStopParams>): Promise<PlannedChange[]> => {
    const { host, params } = ctx;
    const parked = restoreParkedDir(params.restoreId);
    if (params.refuseWithQuorum && !(await host.exists(parked))) {
      const refusal = await quorumRefusal(host, params.snapshotTakenAt);
      if (refusal) throw new KubehaError(ErrorCode.stepRefused, refusal);
    }
    const pods = params.keepEtcd ? restoreStoppedPods.filter((p) => p !== 'etcd') : restoreStoppedPods;
    const inPlace: string[] = [];
    const parkedAlready: string[] = [];
    for (const pod of pods) {
      if (await host.exists(manifestIn(kubeadmPaths.manifestsDir, pod))) inPlace.push(pod);
      else if (await host.exists(manifestIn(parked, pod))) parkedAlready.push(pod);
    }
    if (inPlace.length === 0 && parkedAlready.length === 0) {
      throw new KubehaError(
        ErrorCode.stepFailed,
        `neither ${pods.map((p) => manifestIn(kubeadmPaths.manifestsDir, p)).join(' nor ')} nor a parked copy in ${parked}: not a kubeadm control plane`,
      );
    }
    const running = await runningContainers(host, pods);
    if (inPlace.length === 0 && running.length === 0) {
      ctx.log(`${pods.join(' and ')} already stopped: their manifests are in ${parked}`);
      return [];
    }
    return [
      {
        description: `stop ${pods.join(' and ')}: move ${inPlace.length > 0 ? inPlace.map((p) => `${p}.yaml`).join(', ') : 'no manifest'} from ${kubeadmPaths.manifestsDir} to ${parked} and wait until the kubelet has stopped them${running.length > 0 ? ` (running: ${running.join(', ')})` : ''}`,
        apply: async () => {
          await parkManifests(host, parked, inPlace);
          await waitUntil(
            ctx.signal,
            options,
            `the kubelet stopping ${pods.join(' and ')}`,
            params.stopTimeoutSeconds,
            async () => (await runningContainers(host, pods)).map((name) => `${name} still runs`),
          );
        },
      },
    ];
  };
}

/**
 * The first step of an etcd restore, on every control plane: the kubelet stops the apiserver and etcd when their
 * manifests leave its directory (etcd stays on the control plane whose member is restored, for etcdutl). They are kept under /etc/kubernetes/kubeha-etcd-restore-ID until the restore
 * starts them again with the restored data; nothing else of the node is touched.
 */
export function createEtcdRestoreStopStep(
  options: EtcdRestoreWaitOptions = defaults,
): StepDefinition<EtcdRestoreStopParams> {
  return plannedStep<EtcdRestoreStopParams>({
    kind: 'etcd-restore-stop',
    parseParams: (raw) => parseStepParams('etcd-restore-stop', EtcdRestoreStopParamsSchema, raw),
    plan: plan(options),
  });
}

export const etcdRestoreStopStep = createEtcdRestoreStopStep();
