import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { type KubePackagesParams, KubePackagesParamsSchema } from '../../proto/step-params/kube-packages-params.ts';
import { ensureUnit } from '../os-actions/ensure-unit.ts';
import { ensurePackageRepository, installedVersions, packageInstallChange } from '../os-actions/installed-packages.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { compareVersions, minorOf, parseStepParams } from '../step-execution/step-params.ts';

export const kubernetesRepoPath = '/etc/yum.repos.d/kubernetes.repo';
export const kubePackages = ['kubelet', 'kubeadm', 'kubectl'];

export function defaultKubernetesRepo(version: string): string {
  return `https://pkgs.k8s.io/core:/stable:/v${minorOf(version)}/rpm/`;
}

export function kubernetesRepoFile(version: string, baseUrl: string, gpgKeyUrl?: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const signed =
    gpgKeyUrl === 'none'
      ? ['gpgcheck=0', 'repo_gpgcheck=0']
      : ['gpgcheck=1', `gpgkey=${gpgKeyUrl ?? `${base}repodata/repomd.xml.key`}`];
  return [
    `# Written by kubeha (kube-packages): Kubernetes ${minorOf(version)}; exclude= keeps "dnf update" from moving these packages.`,
    '[kubernetes]',
    `name=Kubernetes ${minorOf(version)}`,
    `baseurl=${base}`,
    'enabled=1',
    ...signed,
    'exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni',
    '',
  ].join('\n');
}

async function plan(ctx: StepContext<KubePackagesParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const version = params.kubernetesVersion;
  const changes: PlannedChange[] = [];
  const baseUrl = params.repoBaseUrl ?? defaultKubernetesRepo(version);
  changes.push(
    ...(await ensurePackageRepository(host, {
      path: kubernetesRepoPath,
      content: kubernetesRepoFile(version, baseUrl, params.gpgKeyUrl),
      baseUrl,
    })),
  );
  const installed = await installedVersions(host, kubePackages);
  const newer = kubePackages.filter((p) => {
    const v = installed.get(p);
    return v !== undefined && compareVersions(v, version) > 0;
  });
  if (newer.length > 0) {
    throw new KubehaError(
      ErrorCode.stepFailed,
      `kube-packages: ${newer.map((p) => `${p} ${installed.get(p)}`).join(', ')} installed, newer than ${version}; kubeha does not downgrade (remove them or ask for that version)`,
    );
  }
  const behind = kubePackages.filter((p) => installed.get(p) !== version);
  if (behind.length > 0) {
    changes.push(
      packageInstallChange(
        host,
        kubePackages.map((p) => `${p}-${version}`),
        {
          disableExcludesOf: 'kubernetes',
          description: `install ${behind.map((p) => `${p}-${version}`).join(' ')} (was ${behind.map((p) => installed.get(p) ?? 'absent').join(', ')})`,
        },
      ),
    );
  }
  // Not started: the kubelet crash-loops until kubeadm init or join configures it, and kubeadm starts it.
  changes.push(...(await ensureUnit(host, 'kubelet', { enabled: true })));
  return changes;
}

/** The pkgs.k8s.io repository of the requested minor; kubelet, kubeadm and kubectl pinned to X.Y.Z; kubelet enabled. */
export const kubePackagesStep = plannedStep<KubePackagesParams>({
  kind: 'kube-packages',
  parseParams(raw) {
    return parseStepParams('kube-packages', KubePackagesParamsSchema, raw);
  },
  plan,
});
