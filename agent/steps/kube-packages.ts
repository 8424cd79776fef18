import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { compareVersions, minorOf, parseStepParams, patterns } from '../step-execution/step-params.ts';

const KubePackagesParamsSchema = Type.Object(
  {
    kubernetesVersion: Type.String({ pattern: patterns.kubernetesVersion }),
    /** The rpm repository of this minor (a mirror); default https://pkgs.k8s.io/core:/stable:/vX.Y/rpm/. */
    repoBaseUrl: Type.Optional(Type.String({ pattern: patterns.url, maxLength: 512 })),
    /** The repository's signing key; "none" for a mirror without signatures; default: the repository's own key. */
    gpgKeyUrl: Type.Optional(
      Type.Union([Type.Literal('none'), Type.String({ pattern: patterns.url, maxLength: 512 })]),
    ),
  },
  { additionalProperties: false },
);
export type KubePackagesParams = Static<typeof KubePackagesParamsSchema>;

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

/** name -> installed version from `rpm -q --queryformat '%{NAME} %{VERSION}\n' ...`; absent when not installed. */
export function parseInstalledVersions(rpmOutput: string): Map<string, string> {
  const versions = new Map<string, string>();
  for (const line of rpmOutput.split('\n')) {
    const match = /^([A-Za-z0-9_.+-]+) ([0-9][A-Za-z0-9.+~^]*)$/.exec(line.trim());
    if (match) versions.set(match[1]!, match[2]!);
  }
  return versions;
}

async function plan(ctx: StepContext<KubePackagesParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const version = params.kubernetesVersion;
  const changes: PlannedChange[] = [];
  const baseUrl = params.repoBaseUrl ?? defaultKubernetesRepo(version);
  const repo = kubernetesRepoFile(version, baseUrl, params.gpgKeyUrl);
  if ((await host.readFile(kubernetesRepoPath)) !== repo) {
    changes.push({
      description: `write ${kubernetesRepoPath} (${baseUrl})`,
      apply: async () => void (await host.writeFileAtomic(kubernetesRepoPath, repo, 0o644)),
    });
  }
  const { stdout } = await host.exec('rpm', ['-q', '--queryformat', '%{NAME} %{VERSION}\\n', ...kubePackages], {
    allowFailure: true,
  });
  const installed = parseInstalledVersions(stdout);
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
    changes.push({
      description: `install ${behind.map((p) => `${p}-${version}`).join(' ')} (was ${behind.map((p) => installed.get(p) ?? 'absent').join(', ')})`,
      apply: async () =>
        void (await host.exec('dnf', [
          'install',
          '-y',
          ...kubePackages.map((p) => `${p}-${version}`),
          '--disableexcludes=kubernetes',
        ])),
    });
  }
  const enabled = (await host.exec('systemctl', ['is-enabled', 'kubelet'], { allowFailure: true })).stdout.trim();
  if (enabled !== 'enabled') {
    changes.push({
      // Not started: the kubelet crash-loops until kubeadm init or join configures it, and kubeadm starts it.
      description: 'enable kubelet (systemctl enable kubelet)',
      apply: async () => void (await host.exec('systemctl', ['enable', 'kubelet'])),
    });
  }
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
