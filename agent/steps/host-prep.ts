import Type, { type Static } from 'typebox';
import type { Host } from '../host/host.ts';
import { activeSwaps, commentOutSwap } from '../host-files/fstab-swap.ts';
import { renderHostsBlock, withHostsBlock } from '../host-files/hosts-block.ts';
import { cidrProblem, kubeadmPatterns } from '../kubeadm/kubeadm-patterns.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams, patterns } from '../step-execution/step-params.ts';

const Role = Type.Union([Type.Literal('control-plane'), Type.Literal('worker'), Type.Literal('load-balancer')]);

const HostPrepParamsSchema = Type.Object(
  {
    hostname: Type.String({ pattern: patterns.hostname }),
    role: Role,
    nodes: Type.Array(
      Type.Object(
        { name: Type.String({ pattern: patterns.hostname }), address: Type.String({ maxLength: 45 }), role: Role },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    selinux: Type.Union([Type.Literal('permissive'), Type.Literal('enforcing')], { default: 'permissive' }),
    firewall: Type.Union([Type.Literal('managed'), Type.Literal('disabled')], { default: 'managed' }),
    cni: Type.Union([Type.Literal('flannel'), Type.Literal('calico')], { default: 'flannel' }),
    /** The cluster's pod network; its traffic is trusted (forwarded) by firewalld. Empty: the CNI interfaces only. */
    podSubnet: Type.String({ pattern: `^$|${kubeadmPatterns.cidr}`, maxLength: 49, default: '' }),
    /** The HAProxy frontend port on this node; 0 when it runs no HAProxy. */
    lbPort: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
    /** keepalived runs on this node (it may hold the VIP). */
    keepalived: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type HostPrepParams = Static<typeof HostPrepParamsSchema>;

export const kernelModules = ['overlay', 'br_netfilter'];
export const modulesLoadPath = '/etc/modules-load.d/kubeha.conf';
export const modulesLoadContent = `# Written by kubeha (host-prep): overlayfs for containerd, bridge netfilter for the CNI.\n${kernelModules.join('\n')}\n`;
export const sysctls: Record<string, string> = {
  'net.ipv4.ip_forward': '1',
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.bridge.bridge-nf-call-ip6tables': '1',
};
export const sysctlPath = '/etc/sysctl.d/99-kubeha.conf';
export const sysctlContent = `# Written by kubeha (host-prep): Kubernetes networking needs these.\n${Object.entries(
  sysctls,
)
  .map(([k, v]) => `${k} = ${v}`)
  .join('\n')}\n`;
export const zramGeneratorPath = '/etc/systemd/zram-generator.conf';
export const zramGeneratorContent =
  '# Written by kubeha (host-prep): no zram swap device, the kubelet needs swap off.\n';
export const vrrpRichRule = 'rule protocol value="vrrp" accept';
/** The zone whose target is ACCEPT for input and forwarding alike, in firewalld 0.9 (EL8) and 1.x. */
export const podZone = 'trusted';

/** The interfaces the CNI creates on every node; firewalld matches `name+` as a prefix. */
export function cniInterfaces(cni: HostPrepParams['cni']): string[] {
  return cni === 'flannel' ? ['cni0', 'flannel.1'] : ['cali+', 'tunl0', 'vxlan.calico'];
}

/** Inbound ports and rich rules a node of this role needs open: the Kubernetes ports of its role, the CNI's, VRRP. */
export function firewallRulesFor(params: Pick<HostPrepParams, 'role' | 'cni' | 'lbPort'>): {
  ports: string[];
  richRules: string[];
} {
  const lb = params.lbPort > 0 ? [`${params.lbPort}/tcp`] : [];
  const cniPorts = params.cni === 'flannel' ? ['8472/udp'] : ['179/tcp', '4789/udp', '5473/tcp'];
  const cniRules = params.cni === 'calico' ? ['rule protocol value="4" accept'] : [];
  switch (params.role) {
    case 'control-plane':
      return {
        ports: ['6443/tcp', '2379-2380/tcp', '10250/tcp', '10256/tcp', '10257/tcp', '10259/tcp', ...lb, ...cniPorts],
        richRules: [vrrpRichRule, ...cniRules],
      };
    case 'worker':
      return { ports: ['10250/tcp', '10256/tcp', '30000-32767/tcp', ...cniPorts], richRules: cniRules };
    case 'load-balancer':
      return { ports: lb, richRules: [vrrpRichRule] };
  }
}

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

async function hostnameChanges(ctx: StepContext<HostPrepParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const configured = ((await host.readFile('/etc/hostname')) ?? '').trim();
  const running = (await host.facts()).hostname;
  if (configured === params.hostname && running === params.hostname) return [];
  return [
    {
      description: `set the hostname to ${params.hostname} (hostnamectl set-hostname)`,
      apply: async () => void (await host.exec('hostnamectl', ['set-hostname', params.hostname])),
    },
  ];
}

async function hostsChanges(ctx: StepContext<HostPrepParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  if (params.nodes.length === 0) return [];
  const current = (await host.readFile('/etc/hosts')) ?? '';
  const wanted = withHostsBlock(current, renderHostsBlock(params.nodes));
  if (wanted === current) return [];
  return [
    {
      description: `write the kubeha block of /etc/hosts (${params.nodes.length} nodes)`,
      apply: async () =>
        void (await host.writeFileAtomic('/etc/hosts', wanted, (await host.fileMode('/etc/hosts')) ?? 0o644)),
    },
  ];
}

async function swapChanges(ctx: StepContext<HostPrepParams>): Promise<PlannedChange[]> {
  const { host } = ctx;
  const changes: PlannedChange[] = [];
  const swaps = activeSwaps(await host.readFile('/proc/swaps'));
  if (swaps.length > 0) {
    changes.push({
      description: `turn swap off now (swapoff -a: ${swaps.join(', ')})`,
      apply: async () => void (await host.exec('swapoff', ['-a'])),
    });
  }
  const fstab = await host.readFile('/etc/fstab');
  if (fstab !== undefined) {
    const { text, disabled } = commentOutSwap(fstab);
    if (disabled.length > 0) {
      changes.push({
        description: `comment out the swap lines of /etc/fstab (${disabled.length})`,
        apply: async () =>
          void (await host.writeFileAtomic('/etc/fstab', text, (await host.fileMode('/etc/fstab')) ?? 0o644)),
      });
    }
  }
  const { stdout } = await host.exec('systemctl', [
    'list-units',
    '--type=swap',
    '--all',
    '--plain',
    '--no-legend',
    '--no-pager',
  ]);
  const unmasked = stdout
    .split('\n')
    .map(words)
    .filter((f) => f[0]?.endsWith('.swap') && f[1] !== 'masked')
    .map((f) => f[0]!);
  if (unmasked.length > 0) {
    changes.push({
      description: `mask the systemd swap units ${unmasked.join(', ')}`,
      apply: async () => void (await host.exec('systemctl', ['mask', ...unmasked])),
    });
  }
  const zramInstalled =
    (await host.exists('/usr/lib/systemd/zram-generator.conf')) ||
    (await host.exists('/etc/systemd/zram-generator.conf'));
  if (zramInstalled && (await host.readFile(zramGeneratorPath)) !== zramGeneratorContent) {
    changes.push({
      description: `disable the zram swap generator (${zramGeneratorPath})`,
      apply: async () => void (await host.writeFileAtomic(zramGeneratorPath, zramGeneratorContent, 0o644)),
    });
  }
  return changes;
}

async function selinuxChanges(ctx: StepContext<HostPrepParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const config = await host.readFile('/etc/selinux/config');
  if (config === undefined) return [];
  const changes: PlannedChange[] = [];
  const mode = (await host.exec('getenforce', [])).stdout.trim();
  if (params.selinux === 'permissive') {
    if (mode === 'Enforcing') {
      changes.push({
        description: 'set SELinux permissive now (setenforce 0)',
        apply: async () => void (await host.exec('setenforce', ['0'])),
      });
    }
    const wanted = config.replace(/^SELINUX=enforcing[ \t]*$/m, 'SELINUX=permissive');
    if (wanted !== config) {
      changes.push({
        description: 'set SELINUX=permissive in /etc/selinux/config',
        apply: async () =>
          void (await host.writeFileAtomic(
            '/etc/selinux/config',
            wanted,
            (await host.fileMode('/etc/selinux/config')) ?? 0o644,
          )),
      });
    }
  } else if (mode !== 'Disabled') {
    changes.push(...(await enforcingChanges(ctx)));
  }
  return changes;
}

/** The check script keepalived runs; labelled so it runs unconfined instead of in keepalived_t. */
export const checkScriptPath = '/usr/libexec/kubeha/check-apiserver';
export const checkScriptType = 'keepalived_unconfined_script_exec_t';

/** Booleans an enforcing node needs, by what runs on it. */
export function selinuxBooleansFor(params: Pick<HostPrepParams, 'lbPort' | 'role' | 'keepalived'>): string[] {
  return [
    // HAProxy binds its frontend and connects to the apiservers on ports its policy does not name.
    ...(params.lbPort > 0 && params.role !== 'worker' ? ['haproxy_connect_any'] : []),
    // keepalived_t may not connect to arbitrary ports: the check script's fallback probe of the endpoint needs it
    // should the script run confined (an unlabelled script, or a policy without the unconfined script type).
    ...(params.keepalived ? ['keepalived_connect_any'] : []),
  ];
}

async function enforcingChanges(ctx: StepContext<HostPrepParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const changes: PlannedChange[] = [];
  for (const name of selinuxBooleansFor(params)) {
    const current = (await host.exec('getsebool', [name], { allowFailure: true })).stdout;
    if (!/-->\s*on\b/.test(current)) {
      changes.push({
        description: `set the SELinux boolean ${name} on, now and after reboot (setsebool -P ${name} 1)`,
        apply: async () => void (await host.exec('setsebool', ['-P', name, '1'])),
      });
    }
  }
  if (params.keepalived && (await host.exists(checkScriptPath))) {
    const rules = (await host.exec('semanage', ['fcontext', '--list', '--locallist'])).stdout;
    const ruled = rules
      .split('\n')
      .some((l) => l.startsWith(`${checkScriptPath} `) && l.includes(`:${checkScriptType}:`));
    if (!ruled) {
      changes.push({
        description: `label ${checkScriptPath} ${checkScriptType} (semanage fcontext -a)`,
        apply: async () =>
          void (await host.exec('semanage', ['fcontext', '--add', '--type', checkScriptType, checkScriptPath])),
      });
    }
    const label = (await host.exec('stat', ['-c', '%C', checkScriptPath])).stdout.trim();
    if (!ruled || label.split(':')[2] !== checkScriptType) {
      changes.push({
        description: `relabel ${checkScriptPath} (restorecon -F; now ${label || 'unlabelled'})`,
        apply: async () => void (await host.exec('restorecon', ['-F', checkScriptPath])),
      });
    }
  }
  return changes;
}

async function unitState(host: Host, verb: 'is-active' | 'is-enabled', unit: string): Promise<string> {
  return (await host.exec('systemctl', [verb, unit], { allowFailure: true })).stdout.trim();
}

async function firewallChanges(ctx: StepContext<HostPrepParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  const active = (await unitState(host, 'is-active', 'firewalld')) === 'active';
  if (params.firewall === 'disabled') {
    const enabled = (await unitState(host, 'is-enabled', 'firewalld')) === 'enabled';
    if (!active && !enabled) return [];
    return [
      {
        description: 'stop and disable firewalld (spec: firewall disabled)',
        apply: async () => void (await host.exec('systemctl', ['disable', '--now', 'firewalld'])),
      },
    ];
  }
  if (!active) {
    ctx.log('firewalld is not running: no ports to open');
    return [];
  }
  const wanted = firewallRulesFor(params);
  const list = async (permanent: boolean, what: 'ports' | 'rich-rules') => {
    const args = [...(permanent ? ['--permanent'] : []), `--list-${what}`];
    const { stdout } = await host.exec('firewall-cmd', args);
    // firewall-cmd prints a notice on stdout about the default zone once another zone has interfaces.
    return what === 'ports'
      ? words(stdout).filter((w) => /^\d+(-\d+)?\/[a-z]+$/.test(w))
      : stdout
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.startsWith('rule '));
  };
  const permanentPorts = await list(true, 'ports');
  const permanentRules = await list(true, 'rich-rules');
  const missingPorts = wanted.ports.filter((p) => !permanentPorts.includes(p));
  const missingRules = wanted.richRules.filter((r) => !permanentRules.includes(r));
  const changes: PlannedChange[] = [];
  if (missingPorts.length > 0) {
    changes.push({
      description: `open ${missingPorts.join(', ')} in firewalld (permanent)`,
      apply: async () =>
        void (await host.exec('firewall-cmd', ['--permanent', ...missingPorts.map((p) => `--add-port=${p}`)])),
    });
  }
  for (const rule of missingRules) {
    changes.push({
      description: `add the firewalld rich rule '${rule}' (permanent)`,
      apply: async () => void (await host.exec('firewall-cmd', ['--permanent', `--add-rich-rule=${rule}`])),
    });
  }
  // firewalld ends its FORWARD chain with a reject and forwards only out of (or in from) a zone that allows it; the
  // default zone's catch-all is skipped for forwarded traffic. Pod traffic between nodes is forwarded into the CNI's
  // interfaces, so they and the pod network belong to the trusted zone.
  const pod = { interfaces: cniInterfaces(params.cni), sources: params.podSubnet ? [params.podSubnet] : [] };
  const listZone = async (permanent: boolean, what: 'interfaces' | 'sources') =>
    words(
      (await host.exec('firewall-cmd', [...(permanent ? ['--permanent'] : []), `--zone=${podZone}`, `--list-${what}`]))
        .stdout,
    );
  const permanentInterfaces = await listZone(true, 'interfaces');
  const permanentSources = await listZone(true, 'sources');
  const unboundInterfaces = pod.interfaces.filter((i) => !permanentInterfaces.includes(i));
  const untrustedSources = pod.sources.filter((c) => !permanentSources.includes(c));
  if (unboundInterfaces.length > 0) {
    changes.push({
      description: `put the ${params.cni} interfaces ${unboundInterfaces.join(', ')} in firewalld's ${podZone} zone (permanent), so pod traffic is forwarded`,
      apply: async () => {
        // --change-interface also moves an interface another zone holds (an add would fail with ZONE_CONFLICT).
        for (const i of unboundInterfaces) {
          await host.exec('firewall-cmd', ['--permanent', `--zone=${podZone}`, `--change-interface=${i}`]);
        }
      },
    });
  }
  if (untrustedSources.length > 0) {
    changes.push({
      description: `trust the pod network ${untrustedSources.join(', ')} in firewalld's ${podZone} zone (permanent)`,
      apply: async () =>
        void (await host.exec('firewall-cmd', [
          '--permanent',
          `--zone=${podZone}`,
          ...untrustedSources.map((c) => `--add-source=${c}`),
        ])),
    });
  }
  const runtimePorts = await list(false, 'ports');
  const runtimeRules = await list(false, 'rich-rules');
  const runtimeInterfaces = await listZone(false, 'interfaces');
  const runtimeSources = await listZone(false, 'sources');
  const runtimeBehind =
    wanted.ports.some((p) => !runtimePorts.includes(p)) ||
    wanted.richRules.some((r) => !runtimeRules.includes(r)) ||
    pod.interfaces.some((i) => !runtimeInterfaces.includes(i)) ||
    pod.sources.some((c) => !runtimeSources.includes(c));
  if (changes.length > 0 || runtimeBehind) {
    changes.push({
      description: 'reload firewalld so the permanent rules apply now',
      apply: async () => void (await host.exec('firewall-cmd', ['--reload'])),
    });
  }
  return changes;
}

async function kernelChanges(ctx: StepContext<HostPrepParams>): Promise<PlannedChange[]> {
  const { host } = ctx;
  const changes: PlannedChange[] = [];
  if ((await host.readFile(modulesLoadPath)) !== modulesLoadContent) {
    changes.push({
      description: `load ${kernelModules.join(' and ')} at boot (${modulesLoadPath})`,
      apply: async () => void (await host.writeFileAtomic(modulesLoadPath, modulesLoadContent, 0o644)),
    });
  }
  for (const module of kernelModules) {
    if (!(await host.exists(`/sys/module/${module}`))) {
      changes.push({
        description: `load the kernel module ${module} (modprobe ${module})`,
        apply: async () => void (await host.exec('modprobe', [module])),
      });
    }
  }
  const sysctlFileChanged = (await host.readFile(sysctlPath)) !== sysctlContent;
  if (sysctlFileChanged) {
    changes.push({
      description: `write ${sysctlPath} (${Object.keys(sysctls).join(', ')})`,
      apply: async () => void (await host.writeFileAtomic(sysctlPath, sysctlContent, 0o644)),
    });
  }
  const wrong: string[] = [];
  for (const [key, value] of Object.entries(sysctls)) {
    const current = (await host.readFile(procSysPath(key)))?.trim();
    if (current !== value) wrong.push(`${key}=${current ?? 'absent'}`);
  }
  if (wrong.length > 0 || sysctlFileChanged) {
    // Only kubeha's own file: `sysctl --system` exits 1 when any other file names a key this kernel lacks.
    changes.push({
      description: `apply the sysctls now (sysctl -p ${sysctlPath}${wrong.length > 0 ? `; now ${wrong.join(', ')}` : ''})`,
      apply: async () => void (await host.exec('sysctl', ['-p', sysctlPath])),
    });
  }
  for (const warning of await otherSysctlFileWarnings(host)) ctx.log(`warning: ${warning}`);
  return changes;
}

function procSysPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`;
}

/** Where systemd-sysctl reads its files at boot; a name in an earlier directory hides the same name in a later one. */
export const sysctlDirs = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d'];

/**
 * What the other sysctl files would do at boot that kubeha should know of: keys this kernel lacks (systemd-sysctl
 * and `sysctl --system` fail on them) and files read after kubeha's that set one of its keys otherwise.
 */
async function otherSysctlFileWarnings(host: Host): Promise<string[]> {
  const files = new Map<string, string>();
  for (const dir of sysctlDirs) {
    for (const name of (await host.listDir(dir)).filter((n) => n.endsWith('.conf')).sort()) {
      if (!files.has(name)) files.set(name, `${dir}/${name}`);
    }
  }
  const ours = sysctlPath.slice(sysctlPath.lastIndexOf('/') + 1);
  const ordered = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const warnings: string[] = [];
  const read = [...ordered.map(([name, path]) => ({ name, path })), { name: '~sysctl.conf', path: '/etc/sysctl.conf' }];
  for (const { name, path } of read) {
    if (path === sysctlPath) continue;
    const text = await host.readFile(path);
    if (text === undefined) continue;
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith(';') || !trimmed.includes('=')) continue;
      const key = trimmed.slice(0, trimmed.indexOf('=')).trim().replace(/\//g, '.');
      const value = trimmed.slice(trimmed.indexOf('=') + 1).trim();
      // A leading '-' tells systemd-sysctl to ignore a failure; globs match whatever exists.
      if (key.startsWith('-') || key.includes('*')) continue;
      if (!(await host.exists(procSysPath(key)))) {
        warnings.push(`${path} sets ${key}, which this kernel does not have (sysctl --system fails on it)`);
      } else if (name > ours && sysctls[key] !== undefined && value !== sysctls[key]) {
        warnings.push(
          `${path} sets ${key} = ${value} after ${sysctlPath}: it wins at boot over kubeha's ${sysctls[key]}`,
        );
      }
    }
  }
  return warnings;
}

/**
 * Everything the kubelet and the CNI need from the OS: hostname, /etc/hosts, swap off (now and after reboot),
 * SELinux, firewalld, kernel modules and sysctls. Each part reads first and changes only what differs.
 */
export const hostPrepStep = plannedStep<HostPrepParams>({
  kind: 'host-prep',
  parseParams(raw) {
    return parseStepParams('host-prep', HostPrepParamsSchema, raw, (p) => [
      ...p.nodes.flatMap((n, i) =>
        isIpAddress(n.address) ? [] : [`nodes[${i}].address: not an IPv4 or IPv6 address`],
      ),
      ...(p.lbPort === 6443 ? ['lbPort: 6443 is the local apiserver port; HAProxy needs another port'] : []),
      ...(p.podSubnet === ''
        ? []
        : [cidrProblem(p.podSubnet)].filter((m) => m !== undefined).map((m) => `podSubnet: ${m}`)),
    ]);
  },
  async plan(ctx) {
    return [
      ...(await hostnameChanges(ctx)),
      ...(await hostsChanges(ctx)),
      ...(await swapChanges(ctx)),
      ...(await selinuxChanges(ctx)),
      ...(await firewallChanges(ctx)),
      ...(await kernelChanges(ctx)),
    ];
  },
});
