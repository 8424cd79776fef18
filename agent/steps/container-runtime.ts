import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { Host } from '../host/host.ts';
import { readOsRelease } from '../host/os-release.ts';
import {
  containerdSocket,
  crictlConfig,
  hostsToml,
  kubeletReadyConfig,
  pauseImageFor,
  registryConfigDir,
} from '../host-files/containerd-config.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { parseStepParams, patterns } from '../step-execution/step-params.ts';

const ContainerRuntimeParamsSchema = Type.Object(
  {
    kubernetesVersion: Type.String({ pattern: patterns.kubernetesVersion }),
    /** Base of Docker's EL repository (a mirror for air-gapped sites); default by distribution. */
    repoBaseUrl: Type.Optional(Type.String({ pattern: patterns.url, maxLength: 512 })),
    mirrors: Type.Array(
      Type.Object(
        {
          registry: Type.String({ pattern: patterns.registry, maxLength: 253 }),
          endpoints: Type.Array(Type.String({ pattern: patterns.url, maxLength: 512 }), { minItems: 1 }),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    /** Default: kubeadm's pause image for the Kubernetes minor, from imageRepository. */
    sandboxImage: Type.Optional(Type.String({ pattern: patterns.image, maxLength: 512 })),
    /** Docker's signing key; "none" for a mirror without signatures; default: the key under repoBaseUrl. */
    gpgKeyUrl: Type.Optional(
      Type.Union([Type.Literal('none'), Type.String({ pattern: patterns.url, maxLength: 512 })]),
    ),
    /** Where kubeadm's images (the pause image among them) come from; default registry.k8s.io. */
    imageRepository: Type.Optional(Type.String({ pattern: patterns.imageRepository, maxLength: 253 })),
    /** dnf may remove what conflicts with containerd.io (runc, and podman or buildah that need it). */
    allowErasing: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type ContainerRuntimeParams = Static<typeof ContainerRuntimeParamsSchema>;

export const dockerRepoPath = '/etc/yum.repos.d/docker-ce.repo';
export const containerdConfigPath = '/etc/containerd/config.toml';
export const crictlConfigPath = '/etc/crictl.yaml';

export function defaultDockerRepoBase(osId: string): string {
  return osId === 'rhel' ? 'https://download.docker.com/linux/rhel' : 'https://download.docker.com/linux/centos';
}

export function dockerRepoFile(base: string, gpgKeyUrl?: string): string {
  const b = base.replace(/\/+$/, '');
  const signed = gpgKeyUrl === 'none' ? ['gpgcheck=0'] : ['gpgcheck=1', `gpgkey=${gpgKeyUrl ?? `${b}/gpg`}`];
  return [
    "# Written by kubeha (container-runtime): containerd.io from Docker's repository.",
    '[docker-ce-stable]',
    'name=Docker CE Stable - $basearch',
    `baseurl=${b}/$releasever/$basearch/stable`,
    'enabled=1',
    ...signed,
    '',
  ].join('\n');
}

async function isInstalled(host: Host, pkg: string): Promise<boolean> {
  return (await host.exec('rpm', ['-q', pkg], { allowFailure: true })).exitCode === 0;
}

async function unit(host: Host, verb: 'is-active' | 'is-enabled', name: string): Promise<string> {
  return (await host.exec('systemctl', [verb, name], { allowFailure: true })).stdout.trim();
}

async function wantedConfig(ctx: StepContext<ContainerRuntimeParams>): Promise<string> {
  const { stdout } = await ctx.host.exec('containerd', ['config', 'default']);
  return kubeletReadyConfig(stdout, {
    sandboxImage: ctx.params.sandboxImage ?? pauseImageFor(ctx.params.kubernetesVersion, ctx.params.imageRepository),
    mirrors: ctx.params.mirrors.length > 0,
  });
}

async function plan(ctx: StepContext<ContainerRuntimeParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const changes: PlannedChange[] = [];
  const base = params.repoBaseUrl ?? defaultDockerRepoBase((await readOsRelease(host)).id);
  const repo = dockerRepoFile(base, params.gpgKeyUrl);
  if ((await host.readFile(dockerRepoPath)) !== repo) {
    changes.push({
      description: `write ${dockerRepoPath} (${base})`,
      apply: async () => void (await host.writeFileAtomic(dockerRepoPath, repo, 0o644)),
    });
  }
  const installed = await isInstalled(host, 'containerd.io');
  if (!installed) {
    changes.push({
      description: `install containerd.io (dnf install -y ${params.allowErasing ? '--allowerasing ' : ''}containerd.io)`,
      apply: async () =>
        void (await host.exec('dnf', [
          'install',
          '-y',
          ...(params.allowErasing ? ['--allowerasing'] : []),
          'containerd.io',
        ])),
    });
  }
  // Before the package is there, `containerd config default` cannot run: the file is computed when applied.
  const config = installed ? await wantedConfig(ctx) : undefined;
  const configChanged = config === undefined || (await host.readFile(containerdConfigPath)) !== config;
  if (configChanged) {
    changes.push({
      description: `write ${containerdConfigPath} (containerd's defaults with SystemdCgroup = true, sandbox ${params.sandboxImage ?? pauseImageFor(params.kubernetesVersion)}${params.mirrors.length > 0 ? `, registry mirrors in ${registryConfigDir}` : ''})`,
      apply: async () =>
        void (await host.writeFileAtomic(containerdConfigPath, config ?? (await wantedConfig(ctx)), 0o644)),
    });
  }
  let mirrorsChanged = false;
  for (const mirror of params.mirrors) {
    const path = `${registryConfigDir}/${mirror.registry}/hosts.toml`;
    const content = hostsToml(mirror.registry, mirror.endpoints);
    if ((await host.readFile(path)) === content) continue;
    mirrorsChanged = true;
    changes.push({
      description: `write ${path} (mirrors ${mirror.endpoints.join(', ')})`,
      apply: async () => void (await host.writeFileAtomic(path, content, 0o644)),
    });
  }
  if ((await host.readFile(crictlConfigPath)) !== crictlConfig) {
    changes.push({
      description: `write ${crictlConfigPath} (endpoint unix://${containerdSocket})`,
      apply: async () => void (await host.writeFileAtomic(crictlConfigPath, crictlConfig, 0o644)),
    });
  }
  const active = installed && (await unit(host, 'is-active', 'containerd')) === 'active';
  const enabled = installed && (await unit(host, 'is-enabled', 'containerd')) === 'enabled';
  if (!active || !enabled) {
    changes.push({
      description: 'enable and start containerd (systemctl enable --now containerd)',
      apply: async () => void (await host.exec('systemctl', ['enable', '--now', 'containerd'])),
    });
  }
  if (active && (configChanged || mirrorsChanged)) {
    changes.push({
      description: 'restart containerd to load the new configuration',
      apply: async () => void (await host.exec('systemctl', ['restart', 'containerd'])),
    });
  }
  return changes;
}

const criReadyAttempts = 20;
const criReadyDelayMs = 500;

/**
 * containerd.io from Docker's EL repository, configured for the kubelet (systemd cgroups, kubeadm's pause
 * image, optional registry mirrors), crictl pointed at it, running; verified by the CRI plugin answering.
 */
export const containerRuntimeStep = plannedStep<ContainerRuntimeParams>({
  kind: 'container-runtime',
  parseParams(raw) {
    return parseStepParams('container-runtime', ContainerRuntimeParamsSchema, raw);
  },
  plan,
  async verify(ctx) {
    const config = (await ctx.host.readFile(containerdConfigPath)) ?? '';
    // For the coordinator's check that the runtime's cgroup driver matches the kubelet's (systemd).
    ctx.output('cgroupDriver', /^\s*SystemdCgroup\s*=\s*true\s*$/m.test(config) ? 'systemd' : 'cgroupfs');
    let last = '';
    for (let attempt = 1; attempt <= criReadyAttempts; attempt++) {
      const result = await ctx.host.exec('ctr', ['--address', containerdSocket, 'plugins', 'ls'], {
        allowFailure: true,
      });
      last = result.exitCode === 0 ? 'the cri plugin is not ok' : (result.stderr.trim().split('\n').slice(-1)[0] ?? '');
      if (result.exitCode === 0 && /^io\.containerd\.grpc\.v1\s+cri\s+.*\bok\s*$/m.test(result.stdout)) return;
      if (attempt < criReadyAttempts) await new Promise((r) => setTimeout(r, criReadyDelayMs));
      if (ctx.signal.aborted) break;
    }
    throw new KubehaError(
      ErrorCode.stepFailed,
      `container-runtime: the CRI socket ${containerdSocket} does not answer after ${(criReadyAttempts * criReadyDelayMs) / 1000} s: ${last}; see journalctl -u containerd`,
    );
  },
});
