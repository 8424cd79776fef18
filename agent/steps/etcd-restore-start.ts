import {
  type EtcdRestoreStartParams,
  EtcdRestoreStartParamsSchema,
} from '../../proto/step-params/etcd-restore-start-params.ts';
import type { Host } from '../host/host.ts';
import { apiserverPort, getReadyz, hostPort, readyzProblem } from '../kubeadm/apiserver-readyz.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { type PlannedChange, plannedStep, type StepContext, type StepDefinition } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams } from '../step-execution/step-params.ts';
import { type EtcdRestoreWaitOptions, manifestIn, restoreParkedDir, waitUntil } from './etcd-restore-stop.ts';

const defaults: EtcdRestoreWaitOptions = { pollMs: 2_000, now: () => Date.now() };

function readyzUrl(address: string): string {
  return `https://${hostPort(address, apiserverPort)}/readyz`;
}

/** Empty when the apiserver on `address` answers /readyz with 200. */
async function apiserverProblems(host: Host, address: string): Promise<string[]> {
  const problem = readyzProblem(await getReadyz(host, hostPort(address, apiserverPort)));
  return problem ? [problem] : [];
}

function plan(options: EtcdRestoreWaitOptions) {
  return async (ctx: StepContext<EtcdRestoreStartParams>): Promise<PlannedChange[]> => {
    const { host, params } = ctx;
    const dir = restoreParkedDir(params.restoreId);
    const parked = (await host.listDir(dir)).filter((n) => n.endsWith('.yaml'));
    if (parked.length === 0) {
      if (await host.exists(dir)) return [{ description: `remove the empty ${dir}`, apply: () => host.remove(dir) }];
      ctx.log(`no static pod of restore ${params.restoreId} is stopped on this node: nothing to start`);
      return [];
    }
    return [
      {
        description: `start ${parked.map((n) => n.replace(/\.yaml$/, '')).join(', ')} again: manifests from ${dir} back to ${kubeadmPaths.manifestsDir}; wait until ${readyzUrl(params.apiserverAddress)} answers 200`,
        apply: async () => {
          for (const name of parked) {
            await host.rename(`${dir}/${name}`, manifestIn(kubeadmPaths.manifestsDir, name.replace(/\.yaml$/, '')));
          }
          await host.remove(dir);
          await waitUntil(
            ctx.signal,
            options,
            'the apiserver starting on the restored etcd',
            params.waitTimeoutSeconds,
            () => apiserverProblems(host, params.apiserverAddress),
          );
        },
      },
    ];
  };
}

/**
 * The last step of an etcd restore on a control plane: its apiserver (and any other static pod the restore stopped)
 * started again on the restored etcd, and /readyz on its own address answering 200.
 */
export function createEtcdRestoreStartStep(
  options: EtcdRestoreWaitOptions = defaults,
): StepDefinition<EtcdRestoreStartParams> {
  return plannedStep<EtcdRestoreStartParams>({
    kind: 'etcd-restore-start',
    parseParams: (raw) =>
      parseStepParams('etcd-restore-start', EtcdRestoreStartParamsSchema, raw, (p) =>
        isIpAddress(p.apiserverAddress) ? [] : ['apiserverAddress: not an IP address'],
      ),
    plan: plan(options),
    async verify(ctx) {
      await waitUntil(ctx.signal, options, 'the apiserver serving', ctx.params.waitTimeoutSeconds, () =>
        apiserverProblems(ctx.host, ctx.params.apiserverAddress),
      );
    },
  });
}

export const etcdRestoreStartStep = createEtcdRestoreStartStep();
