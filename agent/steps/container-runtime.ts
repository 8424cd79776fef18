import { ErrorCode, KubehaError } from '../../common/errors.ts';
import {
  type ContainerRuntimeParams,
  ContainerRuntimeParamsSchema,
} from '../../proto/step-params/container-runtime-params.ts';
import { readOsRelease } from '../host/os-release.ts';
import {
  containerdSocket,
  crictlConfig,
  hostsToml,
  kubeletReadyConfig,
  pauseImageFor,
  registryConfigDir,
} from '../host-files/containerd-config.ts';
import { ensureFile } from '../os-actions/ensure-file.ts';
import { ensureUnit, runUnitCommand, unitIsActive } from '../os-actions/ensure-unit.ts';
import { ensurePackageRepository, missingPackages, packageInstallChange } from '../os-actions/installed-packages.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

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
  changes.push(
    ...(await ensurePackageRepository(host, {
      path: dockerRepoPath,
      content: dockerRepoFile(base, params.gpgKeyUrl),
      baseUrl: base,
    })),
  );
  const installed = (await missingPackages(host, ['containerd.io'])).length === 0;
  if (!installed) {
    changes.push(packageInstallChange(host, ['containerd.io'], { allowErasing: params.allowErasing }));
  }
  const configDescription = `write ${containerdConfigPath} (containerd's defaults with SystemdCgroup = true, sandbox ${params.sandboxImage ?? pauseImageFor(params.kubernetesVersion)}${params.mirrors.length > 0 ? `, registry mirrors in ${registryConfigDir}` : ''})`;
  let configChanged = true;
  if (installed) {
    const config = await ensureFile(host, {
      path: containerdConfigPath,
      content: await wantedConfig(ctx),
      mode: 0o644,
      description: configDescription,
    });
    configChanged = config.contentDiffers;
    changes.push(...config.changes);
  } else {
    // Before the package is there, `containerd config default` cannot run: the file is computed when applied.
    changes.push({
      description: configDescription,
      apply: async () => void (await host.writeFileAtomic(containerdConfigPath, await wantedConfig(ctx), 0o644)),
    });
  }
  let mirrorsChanged = false;
  for (const mirror of params.mirrors) {
    const path = `${registryConfigDir}/${mirror.registry}/hosts.toml`;
    const hosts = await ensureFile(host, {
      path,
      content: hostsToml(mirror.registry, mirror.endpoints),
      mode: 0o644,
      description: `write ${path} (mirrors ${mirror.endpoints.join(', ')})`,
    });
    mirrorsChanged ||= hosts.contentDiffers;
    changes.push(...hosts.changes);
  }
  changes.push(
    ...(
      await ensureFile(host, {
        path: crictlConfigPath,
        content: crictlConfig,
        mode: 0o644,
        description: `write ${crictlConfigPath} (endpoint unix://${containerdSocket})`,
      })
    ).changes,
  );
  const active = installed && (await unitIsActive(host, 'containerd'));
  changes.push(...(await ensureUnit(host, 'containerd', { enabled: true, active: true })));
  if (active && (configChanged || mirrorsChanged)) {
    changes.push({
      description: 'restart containerd to load the new configuration',
      apply: () => runUnitCommand(host, 'restart', 'containerd'),
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
