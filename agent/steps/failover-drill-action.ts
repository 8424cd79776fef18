import { ErrorCode, KubehaError } from '../../common/errors.ts';
import {
  type FailoverDrillActionParams,
  FailoverDrillActionParamsSchema,
} from '../../proto/step-params/failover-drill-action-params.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { runUnitCommand, unitIsActive } from '../os-actions/ensure-unit.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

/** Outside the manifests directory: the kubelet runs every manifest file it finds in there. */
export const parkedApiserverManifest = '/etc/kubernetes/kube-apiserver.yaml.kubeha-drill';
const markerDir = '/var/lib/kubeha/drill';

async function planApiserver(ctx: StepContext<FailoverDrillActionParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const running = await host.exists(kubeadmPaths.apiserverManifest);
  const parked = await host.exists(parkedApiserverManifest);
  if (params.phase === 'apply') {
    if (!running) {
      if (parked) return [];
      throw new KubehaError(
        ErrorCode.stepFailed,
        `${kubeadmPaths.apiserverManifest} does not exist: not a control plane`,
      );
    }
    return [
      {
        description: `move ${kubeadmPaths.apiserverManifest} to ${parkedApiserverManifest} (the kubelet stops the apiserver)`,
        apply: () => host.rename(kubeadmPaths.apiserverManifest, parkedApiserverManifest),
      },
    ];
  }
  if (!parked) return [];
  return [
    {
      description: `move ${parkedApiserverManifest} back to ${kubeadmPaths.apiserverManifest}`,
      apply: () => host.rename(parkedApiserverManifest, kubeadmPaths.apiserverManifest),
    },
  ];
}

async function planService(ctx: StepContext<FailoverDrillActionParams>, unit: string): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  // The marker says the drill stopped it: restore starts only what the drill stopped, and survives an agent restart.
  const marker = `${markerDir}/${unit}.stopped`;
  if (params.phase === 'apply') {
    if (!(await unitIsActive(host, unit))) return [];
    return [
      {
        description: `systemctl stop ${unit}`,
        apply: async () => {
          await host.mkdir(markerDir, 0o700);
          await host.writeFileAtomic(marker, 'stopped by the failover drill\n', 0o600);
          await runUnitCommand(host, 'stop', unit);
        },
      },
    ];
  }
  if (!(await host.exists(marker))) return [];
  return [
    {
      description: `systemctl start ${unit}`,
      apply: async () => {
        await runUnitCommand(host, 'start', unit);
        await host.remove(marker);
      },
    },
  ];
}

/**
 * One side of a failover drill on the VIP holder: stop the local apiserver (its static-pod manifest moved away),
 * HAProxy or keepalived (phase apply), and undo exactly that (phase restore, idempotent).
 */
export const failoverDrillActionStep = plannedStep<FailoverDrillActionParams>({
  kind: 'failover-drill-action',
  parseParams: (raw) => parseStepParams('failover-drill-action', FailoverDrillActionParamsSchema, raw),
  plan(ctx) {
    switch (ctx.params.action) {
      case 'stop-apiserver':
        return planApiserver(ctx);
      case 'stop-haproxy':
        return planService(ctx, 'haproxy');
      case 'stop-keepalived':
        return planService(ctx, 'keepalived');
    }
  },
});
