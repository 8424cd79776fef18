import { type DrainNodeParams, DrainNodeParamsSchema } from '../../proto/step-params/drain-node-params.ts';
import { CommandFailedError, type Host } from '../host/host.ts';
import {
  describeDrainBlockers,
  type PodDisruptionBudgetJson,
  type PodJson,
  podName,
  podsDrainEvicts,
} from '../kubeadm/drain-blockers.ts';
import { kubectl, kubectlJson } from '../kubeadm/kubectl.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

interface NodeJson {
  spec?: { unschedulable?: boolean };
}

/** kubectl's own exit beyond --timeout: listing, evicting and waiting once more. */
const kubectlGraceMs = 60_000;

async function podsOn(host: Host, nodeName: string): Promise<PodJson[]> {
  const list = await kubectlJson<{ items?: PodJson[] }>(host, [
    'get',
    'pods',
    '--all-namespaces',
    '--field-selector',
    `spec.nodeName=${nodeName}`,
  ]);
  return list?.items ?? [];
}

/** The drain failed: the message names each pod still there and why, and says the node stays cordoned. */
export class DrainBlockedError extends CommandFailedError {
  readonly blockers: string[];
  constructor(failed: CommandFailedError, nodeName: string, timeoutSeconds: number, blockers: string[]) {
    super(failed.commandLine, failed.exitCode, failed.stderrTail, { cause: failed });
    this.blockers = blockers;
    const what =
      blockers.length > 0
        ? `blocked by ${blockers.join(', ')}`
        : `no evictable pod is left now, but kubectl failed: ${failed.message}`;
    this.message =
      `drain of ${nodeName} did not finish within ${timeoutSeconds} s (${failed.commandLine} exited with ` +
      `${failed.exitCode}): ${what}. ${nodeName} is left cordoned (kubectl uncordon ${nodeName} undoes it)`;
  }
}

async function drain(ctx: StepContext<DrainNodeParams>): Promise<void> {
  const { host, params } = ctx;
  ctx.output('cordoned', 'true');
  try {
    await kubectl(
      host,
      [
        'drain',
        params.nodeName,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        `--timeout=${params.timeoutSeconds}s`,
      ],
      { timeoutMs: params.timeoutSeconds * 1000 + kubectlGraceMs },
    );
  } catch (error) {
    if (!(error instanceof CommandFailedError) || error.cancelled) throw error;
    const remaining = podsDrainEvicts(await podsOn(host, params.nodeName));
    const namespaces = [...new Set(remaining.map((p) => p.metadata.namespace ?? 'default'))];
    const budgets: PodDisruptionBudgetJson[] = [];
    for (const ns of namespaces) {
      const list = await kubectlJson<{ items?: PodDisruptionBudgetJson[] }>(host, [
        '-n',
        ns,
        'get',
        'poddisruptionbudgets',
      ]);
      budgets.push(...(list?.items ?? []));
    }
    throw new DrainBlockedError(
      error,
      params.nodeName,
      params.timeoutSeconds,
      describeDrainBlockers(remaining, budgets),
    );
  }
}

async function plan(ctx: StepContext<DrainNodeParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const node = await kubectlJson<NodeJson>(host, ['get', 'node', params.nodeName, '--ignore-not-found']);
  if (node === undefined) return [];
  const changes: PlannedChange[] = [];
  if (node.spec?.unschedulable === true) {
    ctx.output('cordoned', 'true');
  } else {
    changes.push({
      description: `kubectl cordon ${params.nodeName}`,
      apply: async () => {
        await kubectl(host, ['cordon', params.nodeName]);
        ctx.output('cordoned', 'true');
      },
    });
  }
  // A dead node's kubelet cannot finish an eviction: its pods go with its Node object.
  if (params.dead) return changes;
  const evicted = podsDrainEvicts(await podsOn(host, params.nodeName));
  if (evicted.length > 0) {
    changes.push({
      description:
        `kubectl drain ${params.nodeName} --ignore-daemonsets --delete-emptydir-data ` +
        `--timeout=${params.timeoutSeconds}s (${evicted.map(podName).join(', ')})`,
      apply: () => drain(ctx),
    });
  }
  return changes;
}

/**
 * Cordons a node leaving the cluster and, unless it is dead, drains it (evictions respect PodDisruptionBudgets), as
 * the cluster admin on a healthy member control plane. A drain that does not finish fails naming the pods still on
 * the node and what holds each; the node stays cordoned (output cordoned=true). A node already gone is no change.
 */
export const drainNodeStep = plannedStep<DrainNodeParams>({
  kind: 'drain-node',
  parseParams: (raw) => parseStepParams('drain-node', DrainNodeParamsSchema, raw),
  plan,
});
