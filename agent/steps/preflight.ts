import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { type PreflightParams, PreflightParamsSchema } from '../../proto/step-params/preflight-params.ts';
import type { Host } from '../host/host.ts';
import { osSupport, readOsRelease } from '../host/os-release.ts';
import { cgroupV1RefusedFromMinor } from '../kubeadm/kubeadm-config.ts';
import { activeUnits } from '../os-actions/ensure-unit.ts';
import { installedVersions } from '../os-actions/installed-packages.ts';
import type { StepContext, StepDefinition } from '../step-execution/step.ts';
import { compareVersions, minorOf, parseStepParams } from '../step-execution/step-params.ts';

export const controlPlaneMinCpus = 2;
export const controlPlaneMinMemoryMb = 1700;
export const timeSyncServices = ['chronyd.service', 'systemd-timesyncd.service', 'ntpd.service'];

export function portsForRole(role: PreflightParams['role'], lbPort: number): number[] {
  const lb = lbPort > 0 ? [lbPort] : [];
  switch (role) {
    case 'control-plane':
      return [6443, 2379, 2380, 10250, 10257, 10259, ...lb];
    case 'worker':
      return [10250];
    case 'load-balancer':
      return lb;
  }
}

export interface Listener {
  port: number;
  process: string;
  pid: number | undefined;
}

/** Listening TCP sockets from `ss -H -t -l -n -p`. */
export function parseListeners(ssOutput: string): Listener[] {
  const listeners: Listener[] = [];
  for (const line of ssOutput.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    const local = fields[3]!;
    const port = Number(local.slice(local.lastIndexOf(':') + 1));
    if (!Number.isInteger(port) || port <= 0) continue;
    const users = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
    listeners.push({ port, process: users?.[1] ?? 'unknown', pid: users ? Number(users[2]) : undefined });
  }
  return listeners;
}

async function portProblems(host: Host, params: PreflightParams): Promise<string[]> {
  const wanted = portsForRole(params.role, params.lbPort);
  if (wanted.length === 0) return [];
  const { stdout } = await host.exec('ss', ['-H', '-t', '-l', '-n', '-p']);
  const problems: string[] = [];
  const listeners = parseListeners(stdout);
  for (const port of wanted) {
    const holder = listeners.find((l) => l.port === port);
    if (!holder) continue;
    // Our own HAProxy from an earlier run already holds the frontend port.
    if (port === params.lbPort && holder.process === 'haproxy') continue;
    problems.push(
      `port ${port}/tcp is in use by ${holder.process}${holder.pid ? ` (pid ${holder.pid})` : ''}; the ${params.role} needs it free`,
    );
  }
  return problems;
}

async function leftoverProblems(host: Host, params: PreflightParams): Promise<string[]> {
  if (params.role === 'load-balancer') return [];
  const leftovers = (await host.listDir('/etc/kubernetes/manifests'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `/etc/kubernetes/manifests/${f}`);
  if (await host.exists('/etc/kubernetes/kubelet.conf')) leftovers.push('/etc/kubernetes/kubelet.conf');
  if (params.role === 'control-plane' && (await host.listDir('/var/lib/etcd')).length > 0)
    leftovers.push('/var/lib/etcd');
  if (leftovers.length === 0) return [];
  return [
    `leftovers of an earlier cluster: ${leftovers.join(', ')}; run "kubeadm reset -f" on this node, or mark it as already a member`,
  ];
}

/** Installed packages that containerd.io obsoletes or conflicts with, and the ones that need them. */
export const containerdConflicts = ['runc', 'containerd', 'podman', 'buildah', 'docker'];

async function containerdConflictProblems(ctx: StepContext<PreflightParams>): Promise<string[]> {
  const { host, params } = ctx;
  if (params.role === 'load-balancer') return [];
  const versions = await installedVersions(host, ['containerd.io', ...containerdConflicts]);
  if (versions.has('containerd.io')) return [];
  const installed = containerdConflicts.filter((p) => versions.has(p));
  if (installed.length === 0) return [];
  const what = `containerd.io conflicts with the installed ${installed.join(', ')} (it obsoletes runc; podman and buildah need runc)`;
  if (params.allowErasing) {
    ctx.log(`preflight: warning: ${what}; spec.hostPolicy.allowErasing is true, so dnf will remove them`);
    return [];
  }
  return [
    `${what}: remove them first (dnf remove ${installed.join(' ')}) or set spec.hostPolicy.allowErasing: true to let dnf replace them`,
  ];
}

async function timeSyncProblems(host: Host): Promise<string[]> {
  if ((await activeUnits(host, timeSyncServices)).length > 0) return [];
  return [
    `time sync: none of ${timeSyncServices.join(', ')} is active; etcd and TLS need synchronised clocks (systemctl enable --now chronyd)`,
  ];
}

/**
 * Read-only: refuses a node kubeadm would fail on, naming the fact, and reports the facts the coordinator's
 * cross-node checks need. Changes nothing.
 */
export const preflightStep: StepDefinition<PreflightParams> = {
  kind: 'preflight',
  deterministic: true,
  parseParams(raw) {
    return parseStepParams('preflight', PreflightParamsSchema, raw, (p) =>
      p.lbPort === 6443 ? ['lbPort: 6443 is the local apiserver port; HAProxy needs another port (default 16443)'] : [],
    );
  },
  async check(ctx) {
    const { host, params } = ctx;
    const problems: string[] = [];
    const support = osSupport(await readOsRelease(host));
    if (!support.supported) problems.push(`unsupported OS: ${support.reason}`);

    const facts = await host.facts();
    if (params.role === 'control-plane') {
      if (facts.cpuCount < controlPlaneMinCpus) {
        problems.push(`CPU: ${facts.cpuCount} CPU(s), a control plane needs at least ${controlPlaneMinCpus}`);
      }
      const memoryMb = Math.floor(facts.memoryBytes / 1024 / 1024);
      if (memoryMb < controlPlaneMinMemoryMb) {
        problems.push(`memory: ${memoryMb} MB, a control plane needs at least ${controlPlaneMinMemoryMb} MB`);
      }
    }
    if (
      params.role !== 'load-balancer' &&
      facts.cgroupVersion === 1 &&
      compareVersions(minorOf(params.kubernetesVersion), cgroupV1RefusedFromMinor) >= 0
    ) {
      if (params.allowCgroupV1) {
        ctx.log(
          `preflight: warning: cgroup v1 with Kubernetes ${params.kubernetesVersion}: allowed by spec.hostPolicy.allowCgroupV1 (the kubelet runs with failCgroupV1: false, kubeadm's SystemVerification is ignored); cgroup v1 is unmaintained in Kubernetes from 1.35 on`,
        );
      } else {
        problems.push(
          `cgroup v1: this host mounts cgroup v1 and Kubernetes ${params.kubernetesVersion} (1.35 and later) refuses it; switch to v2 (grubby --update-kernel=ALL --args=systemd.unified_cgroup_hierarchy=1, then reboot), choose Kubernetes 1.34, or set spec.hostPolicy.allowCgroupV1: true`,
        );
      }
    }
    if (!params.alreadyMember) {
      problems.push(...(await portProblems(host, params)));
      problems.push(...(await leftoverProblems(host, params)));
    } else if (params.role !== 'load-balancer' && !(await host.exists('/etc/kubernetes/kubelet.conf'))) {
      // The coordinator's record says member, the node says otherwise: it was reset behind the coordinator's back.
      problems.push(
        'the coordinator recorded this node as a member of the cluster, but it has no /etc/kubernetes/kubelet.conf (was it reset outside kubeha?); kubeha does not join a node it recorded as a member again',
      );
    }
    problems.push(...(await timeSyncProblems(host)));
    problems.push(...(await containerdConflictProblems(ctx)));

    ctx.output('hostname', facts.hostname);
    ctx.output(
      'macs',
      facts.interfaces
        .filter((i) => !i.virtual)
        .map((i) => i.mac)
        .join(','),
    );
    ctx.output('productUuid', facts.productUuid);
    ctx.output('machineId', facts.machineId);
    ctx.output('addresses', facts.interfaces.flatMap((i) => i.addresses).join(','));
    ctx.output('defaultRouteInterface', facts.defaultRouteInterface);
    ctx.output('cgroupVersion', String(facts.cgroupVersion));
    ctx.output('os', support.release.prettyName);
    ctx.output('swapBytes', String(facts.swapBytes));

    if (problems.length > 0) {
      for (const p of problems) ctx.log(`preflight: ${p}`);
      throw new KubehaError(ErrorCode.stepFailed, `preflight failed: ${problems.join('; ')}`, { details: problems });
    }
    return [];
  },
  async apply() {},
};
