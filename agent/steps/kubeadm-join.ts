import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { type KubeadmJoinParams, KubeadmJoinParamsSchema } from '../../proto/step-params/kubeadm-join-params.ts';
import type { Host } from '../host/host.ts';
import { execRedacted } from '../kubeadm/exec-redacted.ts';
import { renderJoinConfig } from '../kubeadm/kubeadm-config.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { endpointProblem } from '../kubeadm/kubeadm-patterns.ts';
import { ensureKubeadmConfigFile } from '../kubeadm/secret-config-file.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams } from '../step-execution/step-params.ts';

function parseParams(raw: unknown): KubeadmJoinParams {
  return parseStepParams('kubeadm-join', KubeadmJoinParamsSchema, raw, (p) => {
    const problems: string[] = [];
    const endpoint = endpointProblem(p.controlPlaneEndpoint);
    if (endpoint) problems.push(`controlPlaneEndpoint: ${endpoint}`);
    if (!isIpAddress(p.advertiseAddress)) problems.push('advertiseAddress: not an IP address');
    if (p.controlPlane && p.certificateKey === undefined) problems.push('certificateKey: required for a control plane');
    if (!p.controlPlane && p.certificateKey !== undefined) problems.push('certificateKey: only for a control plane');
    return problems;
  });
}

/** What a join that stopped half-way leaves; kubeadm's preflight refuses to join over it. */
async function joinLeftovers(host: Host): Promise<string[]> {
  const found: string[] = [];
  for (const path of [
    kubeadmPaths.bootstrapKubeletConf,
    kubeadmPaths.caCert,
    kubeadmPaths.etcdManifest,
    `${kubeadmPaths.etcdDataDir}/member`,
  ]) {
    if (await host.exists(path)) found.push(path);
  }
  return found;
}

async function plan(ctx: StepContext<KubeadmJoinParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const role = params.controlPlane ? 'control plane' : 'worker';
  if (await host.exists(kubeadmPaths.kubeletConf)) {
    if (params.controlPlane && !(await host.exists(kubeadmPaths.etcdManifest))) {
      throw new KubehaError(
        ErrorCode.stepFailed,
        `${params.nodeName} has ${kubeadmPaths.kubeletConf} but no ${kubeadmPaths.etcdManifest}: it joined as a worker or its control-plane join stopped half-way; run kubeadm-reset here and remove-etcd-member on a healthy control plane first`,
      );
    }
    return [];
  }
  const changes: PlannedChange[] = [];
  const leftovers = await joinLeftovers(host);
  if (leftovers.length > 0) {
    if (params.controlPlane) {
      // Its etcd member may be in the cluster: only kubeadm-reset plus remove-etcd-member on a healthy
      // control plane restore quorum safety, which this node cannot do alone.
      throw new KubehaError(
        ErrorCode.stepFailed,
        `an earlier control-plane join left ${leftovers.join(', ')}; run kubeadm-reset here and remove-etcd-member on a healthy control plane first`,
      );
    }
    changes.push({
      description: `kubeadm reset -f (an interrupted join left ${leftovers.join(', ')})`,
      apply: async () => {
        await execRedacted(host, ctx.log, 'kubeadm', ['reset', '-f']);
      },
    });
  }
  changes.push(...(await ensureKubeadmConfigFile(host, kubeadmPaths.joinConfig, renderJoinConfig(params))));
  changes.push({
    description: `kubeadm join --config ${kubeadmPaths.joinConfig} (${role})`,
    apply: async () => {
      await execRedacted(host, ctx.log, 'kubeadm', ['join', '--config', kubeadmPaths.joinConfig]);
    },
  });
  return changes;
}

/**
 * kubeadm join of a control plane or a worker from a JoinConfiguration with the credentials the coordinator sent.
 * A node whose kubelet.conf exists has joined: nothing to do.
 */
export const kubeadmJoinStep = plannedStep<KubeadmJoinParams>({ kind: 'kubeadm-join', parseParams, plan });
