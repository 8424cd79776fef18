/**
 * A fake EL node for the host-prep tests: the files and commands of a fresh install (swap on, SELinux enforcing,
 * firewalld running with nothing open), with state that the stubbed commands change as the real ones would.
 */
import { osReleaseFixture } from '../../../test/fixtures/os-release/os-release-fixtures.ts';
import { FakeHost } from '../../host/fake-host.ts';
import { plannedStep, type StepDefinition } from '../../step-execution/step.ts';
import { hostPrepStep } from '../host-prep.ts';
import type { HostPrepParams, HostPrepPart } from './host-prep-params.ts';

export const nodes = [
  { name: 'k8s-master1', address: '192.168.1.10', role: 'control-plane' },
  { name: 'k8s-master2', address: '192.168.1.11', role: 'control-plane' },
  { name: 'k8s-worker1', address: '192.168.1.20', role: 'worker' },
];
export const cpParams = { hostname: 'k8s-master1', role: 'control-plane', nodes, lbPort: 16443 };

export const rockyFstab = `
#
# /etc/fstab
# Created by anaconda on Mon Jan  8 10:00:00 2024
#
/dev/mapper/rl-root     /                       xfs     defaults        0 0
UUID=3c1d2e4f-aaaa-bbbb-cccc-0123456789ab /boot                   xfs     defaults        0 0
/dev/mapper/rl-swap     none                    swap    defaults        0 0
`;
export const swapUnit = 'dev-mapper-rl\\x2dswap.swap';

const readOnly = new Set([
  'getenforce',
  'systemctl list-units',
  'systemctl is-active',
  'systemctl is-enabled',
  'firewall-cmd --permanent --list',
  'firewall-cmd --list',
  'firewall-cmd --permanent --zone=trusted --list',
  'firewall-cmd --zone=trusted --list',
  'getsebool',
  'semanage fcontext --list',
  'stat -c',
]);
export function sideEffects(host: FakeHost): string[] {
  return host.commandLines().filter((l) => ![...readOnly].some((r) => l.startsWith(r)));
}

export interface NodeState {
  selinux: string;
  swapMasked: boolean;
  firewalld: 'active' | 'inactive';
  firewalldEnabled: boolean;
  permanent: FirewallZones;
  runtime: FirewallZones;
}

export interface FirewallZones {
  ports: string[];
  rules: string[];
  trustedInterfaces: string[];
  trustedSources: string[];
}

const emptyZones = (): FirewallZones => ({ ports: [], rules: [], trustedInterfaces: [], trustedSources: [] });

/** A freshly installed EL node: swap on, SELinux enforcing, firewalld running with nothing open. */
export function freshNode(os: Parameters<typeof osReleaseFixture>[0], overrides: Partial<NodeState> = {}) {
  const state: NodeState = {
    selinux: 'Enforcing',
    swapMasked: false,
    firewalld: 'active',
    firewalldEnabled: true,
    permanent: emptyZones(),
    runtime: emptyZones(),
    ...overrides,
  };
  const host = new FakeHost({
    facts: { hostname: 'localhost.localdomain' },
    files: {
      '/etc/os-release': osReleaseFixture(os),
      '/etc/hostname': 'localhost.localdomain\n',
      '/etc/hosts':
        '127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n',
      '/proc/swaps':
        'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/dm-1                               partition\t2097148\t\t0\t\t-2\n',
      '/etc/fstab': rockyFstab,
      '/etc/selinux/config':
        '# This file controls the state of SELinux on the system.\nSELINUX=enforcing\nSELINUXTYPE=targeted\n',
      '/proc/sys/net/ipv4/ip_forward': '0\n',
    },
  });
  host
    .stub('hostnamectl', ['set-hostname', 'k8s-master1'], {
      effect: (h) => {
        h.setFile('/etc/hostname', 'k8s-master1\n');
        h.factsValue.hostname = 'k8s-master1';
      },
    })
    .stub('swapoff', ['-a'], { effect: (h) => h.setFile('/proc/swaps', 'Filename\tType\tSize\tUsed\tPriority\n') })
    .stub('systemctl', ['list-units', '--type=swap', '--all', '--plain', '--no-legend', '--no-pager'], {
      stdout: () =>
        `${swapUnit} ${state.swapMasked ? 'masked inactive dead' : 'loaded active active'} /dev/mapper/rl-swap\n`,
    })
    .stub('systemctl', ['mask', swapUnit], {
      effect: () => {
        state.swapMasked = true;
      },
    })
    .stub('getenforce', [], { stdout: () => `${state.selinux}\n` })
    .stub('setenforce', ['0'], {
      effect: () => {
        state.selinux = 'Permissive';
      },
    })
    .stub('systemctl', ['is-active', 'firewalld'], { stdout: () => `${state.firewalld}\n`, exitCode: 0 })
    .stub('systemctl', ['is-enabled', 'firewalld'], {
      stdout: () => (state.firewalldEnabled ? 'enabled\n' : 'disabled\n'),
    })
    .stub('systemctl', ['disable', '--now', 'firewalld'], {
      effect: () => {
        state.firewalld = 'inactive';
        state.firewalldEnabled = false;
      },
    })
    .stub('firewall-cmd', ['--permanent', '--list-ports'], { stdout: () => `${state.permanent.ports.join(' ')}\n` })
    .stub('firewall-cmd', ['--permanent', '--list-rich-rules'], {
      stdout: () => state.permanent.rules.map((r) => `${r}\n`).join(''),
    })
    .stub('firewall-cmd', ['--list-ports'], { stdout: () => `${state.runtime.ports.join(' ')}\n` })
    .stub('firewall-cmd', ['--list-rich-rules'], { stdout: () => state.runtime.rules.map((r) => `${r}\n`).join('') })
    .stub('firewall-cmd', ['--permanent', '--zone=trusted', '--list-interfaces'], {
      stdout: () => `${state.permanent.trustedInterfaces.join(' ')}\n`,
    })
    .stub('firewall-cmd', ['--permanent', '--zone=trusted', '--list-sources'], {
      stdout: () => `${state.permanent.trustedSources.join(' ')}\n`,
    })
    .stub('firewall-cmd', ['--zone=trusted', '--list-interfaces'], {
      stdout: () => `${state.runtime.trustedInterfaces.join(' ')}\n`,
    })
    .stub('firewall-cmd', ['--zone=trusted', '--list-sources'], {
      stdout: () => `${state.runtime.trustedSources.join(' ')}\n`,
    })
    .stub('firewall-cmd', ['--reload'], {
      effect: () => {
        state.runtime = structuredClone(state.permanent);
      },
    })
    .stub('modprobe', ['overlay'], { effect: (h) => h.setFile('/sys/module/overlay/refcnt', '0') })
    .stub('modprobe', ['br_netfilter'], { effect: (h) => h.setFile('/sys/module/br_netfilter/refcnt', '0') })
    .stub('sysctl', ['-p', '/etc/sysctl.d/99-kubeha.conf'], {
      effect: (h) => {
        h.setFile('/proc/sys/net/ipv4/ip_forward', '1\n');
        if (h.file('/sys/module/br_netfilter/refcnt') !== undefined) {
          h.setFile('/proc/sys/net/bridge/bridge-nf-call-iptables', '1\n');
          h.setFile('/proc/sys/net/bridge/bridge-nf-call-ip6tables', '1\n');
        }
      },
    });
  return { host, state };
}

export function stubFirewallAdds(
  host: FakeHost,
  state: NodeState,
  ports: string[],
  rules: string[],
  pod: { interfaces: string[]; sources: string[] } = { interfaces: flannelInterfaces, sources: [] },
) {
  for (const i of pod.interfaces) {
    host.stub('firewall-cmd', ['--permanent', '--zone=trusted', `--change-interface=${i}`], {
      effect: () => void state.permanent.trustedInterfaces.push(i),
    });
  }
  if (pod.sources.length > 0) {
    host.stub('firewall-cmd', ['--permanent', '--zone=trusted', ...pod.sources.map((c) => `--add-source=${c}`)], {
      effect: () => void state.permanent.trustedSources.push(...pod.sources),
    });
  }
  host.stub('firewall-cmd', ['--permanent', ...ports.map((p) => `--add-port=${p}`)], {
    effect: () => void state.permanent.ports.push(...ports),
  });
  for (const rule of rules) {
    host.stub('firewall-cmd', ['--permanent', `--add-rich-rule=${rule}`], {
      effect: () => void state.permanent.rules.push(rule),
    });
  }
}

export const flannelInterfaces = ['cni0', 'flannel.1'];
export const cpPorts = [
  '6443/tcp',
  '2379-2380/tcp',
  '10250/tcp',
  '10256/tcp',
  '10257/tcp',
  '10259/tcp',
  '16443/tcp',
  '8472/udp',
];

/** host-prep with only `part`: its parameters as the step parses them, its plan alone. */
export function partStep(part: HostPrepPart): StepDefinition<HostPrepParams> {
  return plannedStep({ kind: 'host-prep', parseParams: hostPrepStep.parseParams, plan: (ctx) => part.plan(ctx) });
}
