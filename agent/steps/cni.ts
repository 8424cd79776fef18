import { createHash } from 'node:crypto';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { type CniParams, CniParamsSchema } from '../../proto/step-params/cni-params.ts';
import type { Host } from '../host/host.ts';
import { type CniManifest, calicoNetworkManagerConf, renderCniManifest } from '../kubeadm/cni-manifest.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { cidrProblem } from '../kubeadm/kubeadm-patterns.ts';
import { kubectl, kubectlJson } from '../kubeadm/kubectl.ts';
import { ensureFile } from '../os-actions/ensure-file.ts';
import { runUnitCommand, unitIsActive } from '../os-actions/ensure-unit.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

const defaultRolloutTimeoutSeconds = 300;
/** Pinned releases used when the spec names neither a URL nor a file. */
export const defaultCniManifestUrls = {
  flannel: 'https://github.com/flannel-io/flannel/releases/download/v0.26.1/kube-flannel.yml',
  calico: 'https://raw.githubusercontent.com/projectcalico/calico/v3.29.2/manifests/calico.yaml',
} as const;
const cniDir = '/var/lib/kubeha/cni';
const networkManagerConf = '/etc/NetworkManager/conf.d/calico.conf';

function parseParams(raw: unknown): CniParams {
  const params = parseStepParams('cni', CniParamsSchema, raw, (p) => {
    const problems: string[] = [];
    if (p.manifestUrl !== undefined && p.manifestPath !== undefined) {
      problems.push('manifestUrl: give manifestUrl or manifestPath, not both');
    }
    if (p.manifestPath?.split('/').includes('..')) problems.push('manifestPath: must not contain ..');
    if (p.manifestUrl?.startsWith('http://') && !p.allowHttp) {
      problems.push('manifestUrl: http:// only when the spec allows it (allowHttp)');
    }
    const cidr = cidrProblem(p.podSubnet);
    if (cidr) problems.push(`podSubnet: ${cidr}`);
    return problems;
  });
  return {
    ...params,
    ...(params.manifestUrl === undefined && params.manifestPath === undefined
      ? { manifestUrl: defaultCniManifestUrls[params.plugin] }
      : {}),
    rolloutTimeoutSeconds: params.rolloutTimeoutSeconds || defaultRolloutTimeoutSeconds,
  };
}

/** The manifest as shipped: from the URL (curl) or, on air-gapped sites, from a local file; checked against its pin. */
async function sourceManifest(host: Host, params: CniParams): Promise<{ text: string; sha256: string }> {
  let text: string;
  const source = params.manifestPath ?? params.manifestUrl!;
  if (params.manifestPath !== undefined) {
    const read = await host.readFile(params.manifestPath);
    if (read === undefined) throw new KubehaError(ErrorCode.stepFailed, `${params.manifestPath} does not exist`);
    text = read;
  } else {
    // Never let a redirect downgrade the transfer to plain http (curl follows redirects to any protocol by default).
    const protocols = params.allowHttp ? '=http,https' : '=https';
    const { stdout } = await host.exec(
      'curl',
      ['-fsSL', '--proto', protocols, '--proto-redir', protocols, '--retry', '3', '--max-time', '120', source],
      { onLine: () => {} },
    );
    text = stdout;
  }
  const sha256 = createHash('sha256').update(text).digest('hex');
  if (params.manifestSha256 !== undefined && sha256 !== params.manifestSha256) {
    throw new KubehaError(
      ErrorCode.stepFailed,
      `the CNI manifest from ${source} has sha256 ${sha256}, not the pinned ${params.manifestSha256}: refused ` +
        '(the pin is spec.networking.cniManifest.sha256, or else the hash of the manifest the cluster was first ' +
        'deployed with; set spec.networking.cniManifest.sha256 to accept another)',
    );
  }
  return { text, sha256 };
}

async function rendered(host: Host, params: CniParams): Promise<CniManifest & { sourceSha256: string }> {
  try {
    const source = await sourceManifest(host, params);
    return { ...renderCniManifest(params.plugin, source.text, params.podSubnet), sourceSha256: source.sha256 };
  } catch (cause) {
    if (cause instanceof KubehaError) throw cause;
    throw new KubehaError(ErrorCode.stepFailed, (cause as Error).message, { cause });
  }
}

async function plan(ctx: StepContext<CniParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  if (!(await host.exists(kubeadmPaths.adminConf))) {
    throw new KubehaError(
      ErrorCode.stepFailed,
      `${kubeadmPaths.adminConf} does not exist: not an initialised control plane`,
    );
  }
  const manifest = await rendered(host, params);
  // The coordinator pins this hash for the cluster's later runs when the spec pins none (trust on first use).
  ctx.output('manifestSha256', manifest.sourceSha256);
  const target = `${cniDir}/${params.plugin}.yaml`;
  const changes: PlannedChange[] = [];
  if (params.plugin === 'calico') {
    const nmConf = await ensureFile(host, {
      path: networkManagerConf,
      content: calicoNetworkManagerConf,
      mode: 0o644,
      description: `write ${networkManagerConf} (NetworkManager leaves calico's interfaces alone)`,
      afterWrite: async () => {
        if (await unitIsActive(host, 'NetworkManager')) await runUnitCommand(host, 'reload', 'NetworkManager');
      },
    });
    changes.push(...nmConf.changes);
  }
  const { namespace, name } = manifest.daemonSet;
  const manifestFile = await ensureFile(host, {
    path: target,
    content: manifest.text,
    mode: 0o644,
    directoryMode: 0o755,
    description: `write ${target} (pod network ${params.podSubnet})`,
  });
  const deployed = manifestFile.contentDiffers
    ? false
    : (await kubectlJson(host, ['-n', namespace, 'get', 'daemonset', name, '--ignore-not-found'])) !== undefined;
  changes.push(...manifestFile.changes);
  if (!deployed) {
    changes.push({
      description: `kubectl apply --server-side -f ${target}`,
      apply: async () => {
        // Server-side: calico's CRDs are too large for the last-applied annotation of a client-side apply.
        await kubectl(host, ['apply', '--server-side', '--force-conflicts', '-f', target]);
      },
    });
  }
  return changes;
}

/**
 * Installs flannel or calico from a URL or a local file with the pod network set to the cluster's pod CIDR
 * (and, for calico, NetworkManager told to leave its interfaces alone), then waits for the DaemonSet's rollout.
 */
export const cniStep = plannedStep<CniParams>({
  kind: 'cni',
  parseParams,
  plan,
  async verify(ctx) {
    const target = `${cniDir}/${ctx.params.plugin}.yaml`;
    const applied = await ctx.host.readFile(target);
    if (applied === undefined) throw new KubehaError(ErrorCode.stepFailed, `${target} does not exist`);
    const { namespace, name } = renderCniManifest(ctx.params.plugin, applied, ctx.params.podSubnet).daemonSet;
    await kubectl(ctx.host, [
      '-n',
      namespace,
      'rollout',
      'status',
      `daemonset/${name}`,
      `--timeout=${ctx.params.rolloutTimeoutSeconds}s`,
    ]);
  },
});
