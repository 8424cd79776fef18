import { type DeleteNodeParams, DeleteNodeParamsSchema } from '../../proto/step-params/delete-node-params.ts';
import { kubectl, kubectlJson } from '../kubeadm/kubectl.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

async function plan(ctx: StepContext<DeleteNodeParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const node = await kubectlJson(host, ['get', 'node', params.nodeName, '--ignore-not-found']);
  if (node === undefined) return [];
  return [
    {
      description: `kubectl delete node ${params.nodeName}`,
      apply: async () => {
        // Another client may delete it between the read and this: gone is what we want.
        await kubectl(host, ['delete', 'node', params.nodeName, '--ignore-not-found']);
      },
    },
  ];
}

/**
 * Deletes a removed node's Node object as the cluster admin, on a healthy member control plane. Its Lease, mirror
 * pods and the kubeadm annotations they carry go with it (garbage collection); kubeadm 1.22 and later keep no
 * per-node entry in the kubeadm-config ConfigMap. A node already gone is no change.
 */
export const deleteNodeStep = plannedStep<DeleteNodeParams>({
  kind: 'delete-node',
  parseParams: (raw) => parseStepParams('delete-node', DeleteNodeParamsSchema, raw),
  plan,
});
