import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { type KubeadmResetParams, KubeadmResetParamsSchema } from '../../proto/step-params/kubeadm-reset-params.ts';
import { CommandFailedError, type Host } from '../host/host.ts';
import { execRedacted } from '../kubeadm/exec-redacted.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { ipvsServiceCount, withoutKubernetesRules } from '../kubeadm/kubernetes-iptables-rules.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

const procIpVs = '/proc/net/ip_vs';
const families = [
  { name: 'IPv4', save: 'iptables-save', restore: 'iptables-restore' },
  { name: 'IPv6', save: 'ip6tables-save', restore: 'ip6tables-restore' },
] as const;

/** iptables-save output, or undefined where the tool is missing or the family is off. */
async function iptablesDump(host: Host, save: string): Promise<string | undefined> {
  try {
    const result = await host.exec(save, [], { allowFailure: true });
    return result.exitCode === 0 ? result.stdout : undefined;
  } catch (error) {
    if (error instanceof CommandFailedError) return undefined;
    throw error;
  }
}

async function kubeadmState(host: Host): Promise<string[]> {
  const found: string[] = [];
  for (const path of [
    kubeadmPaths.adminConf,
    kubeadmPaths.kubeletConf,
    kubeadmPaths.bootstrapKubeletConf,
    '/var/lib/kubelet/config.yaml',
  ]) {
    if (await host.exists(path)) found.push(path);
  }
  // kubeadm reset empties the certificates directory but leaves it.
  if ((await host.listDir(kubeadmPaths.pkiDir)).length > 0) found.push(kubeadmPaths.pkiDir);
  for (const name of await host.listDir(kubeadmPaths.manifestsDir)) found.push(`${kubeadmPaths.manifestsDir}/${name}`);
  return found;
}

async function plan(ctx: StepContext<KubeadmResetParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const hostname = (await host.facts()).hostname.toLowerCase();
  if (params.nodeName !== hostname && params.nodeName !== hostname.split('.')[0]) {
    throw new KubehaError(
      ErrorCode.stepRefused,
      `this node is ${hostname}, not ${params.nodeName}: refusing to wipe its Kubernetes state`,
    );
  }
  const changes: PlannedChange[] = [];
  const state = await kubeadmState(host);
  if (state.length > 0) {
    changes.push({
      description: `kubeadm reset -f (found ${state.join(', ')})`,
      apply: async () => {
        await execRedacted(host, ctx.log, 'kubeadm', ['reset', '-f']);
      },
    });
  }
  // reset keeps these when it cannot remove the etcd member, and never touches the rest.
  if ((await host.listDir(kubeadmPaths.etcdDataDir)).length > 0) {
    changes.push({
      description: `remove ${kubeadmPaths.etcdDataDir}`,
      apply: () => host.remove(kubeadmPaths.etcdDataDir),
    });
  }
  const cniFiles = await host.listDir(kubeadmPaths.cniConfDir);
  if (cniFiles.length > 0) {
    changes.push({
      description: `remove ${cniFiles.map((f) => `${kubeadmPaths.cniConfDir}/${f}`).join(', ')}`,
      apply: async () => {
        for (const f of cniFiles) await host.remove(`${kubeadmPaths.cniConfDir}/${f}`);
      },
    });
  }
  for (const family of families) {
    const dump = await iptablesDump(host, family.save);
    if (dump === undefined) continue;
    const { removed } = withoutKubernetesRules(dump);
    if (removed === 0) continue;
    changes.push({
      description: `remove ${removed} Kubernetes ${family.name} iptables chains and rules (${family.restore})`,
      apply: async () => {
        const now = await iptablesDump(host, family.save);
        if (now === undefined) return;
        await host.exec(family.restore, [], { input: withoutKubernetesRules(now).text });
      },
    });
  }
  const ipvs = await host.readFile(procIpVs);
  if (ipvs !== undefined && ipvsServiceCount(ipvs) > 0) {
    changes.push({
      description: `ipvsadm --clear (${ipvsServiceCount(ipvs)} virtual services)`,
      apply: async () => {
        await host.exec('ipvsadm', ['--clear']);
      },
    });
  }
  return changes;
}

/**
 * Makes a node whose join failed joinable again: kubeadm reset -f, then what reset leaves behind
 * (/var/lib/etcd, /etc/cni/net.d, Kubernetes iptables chains, IPVS services). Refuses on a node of another name.
 */
export const kubeadmResetStep = plannedStep<KubeadmResetParams>({
  kind: 'kubeadm-reset',
  parseParams: (raw) => parseStepParams('kubeadm-reset', KubeadmResetParamsSchema, raw),
  plan,
});
