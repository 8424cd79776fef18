import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { osReleaseFixture, supportedOsFixtures } from '../../test/fixtures/os-release/os-release-fixtures.ts';
import { FakeHost } from '../host/fake-host.ts';
import { hostPrepStep, modulesLoadContent, sysctlContent } from './host-prep.ts';
import { hostsBlockBegin, hostsBlockEnd } from './hosts-block.ts';
import { runStep } from './step-runner.ts';

const nodes = [
  { name: 'k8s-master1', address: '192.168.1.10', role: 'control-plane' },
  { name: 'k8s-master2', address: '192.168.1.11', role: 'control-plane' },
  { name: 'k8s-worker1', address: '192.168.1.20', role: 'worker' },
];
const cpParams = { hostname: 'k8s-master1', role: 'control-plane', nodes, lbPort: 16443 };

const rockyFstab = `
#
# /etc/fstab
# Created by anaconda on Mon Jan  8 10:00:00 2024
#
/dev/mapper/rl-root     /                       xfs     defaults        0 0
UUID=3c1d2e4f-aaaa-bbbb-cccc-0123456789ab /boot                   xfs     defaults        0 0
/dev/mapper/rl-swap     none                    swap    defaults        0 0
`;
const swapUnit = 'dev-mapper-rl\\x2dswap.swap';

const readOnly = new Set([
  'getenforce',
  'systemctl list-units',
  'systemctl is-active',
  'systemctl is-enabled',
  'firewall-cmd --permanent --list',
  'firewall-cmd --list',
  'getsebool',
]);
function sideEffects(host: FakeHost): string[] {
  return host.commandLines().filter((l) => ![...readOnly].some((r) => l.startsWith(r)));
}

interface NodeState {
  selinux: string;
  swapMasked: boolean;
  firewalld: 'active' | 'inactive';
  firewalldEnabled: boolean;
  permanent: { ports: string[]; rules: string[] };
  runtime: { ports: string[]; rules: string[] };
}

/** A freshly installed EL node: swap on, SELinux enforcing, firewalld running with nothing open. */
function freshNode(os: Parameters<typeof osReleaseFixture>[0], overrides: Partial<NodeState> = {}) {
  const state: NodeState = {
    selinux: 'Enforcing',
    swapMasked: false,
    firewalld: 'active',
    firewalldEnabled: true,
    permanent: { ports: [], rules: [] },
    runtime: { ports: [], rules: [] },
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
    .stub('firewall-cmd', ['--reload'], {
      effect: () => {
        state.runtime = structuredClone(state.permanent);
      },
    })
    .stub('modprobe', ['overlay'], { effect: (h) => h.setFile('/sys/module/overlay/refcnt', '0') })
    .stub('modprobe', ['br_netfilter'], { effect: (h) => h.setFile('/sys/module/br_netfilter/refcnt', '0') })
    .stub('sysctl', ['--system'], {
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

function stubFirewallAdds(host: FakeHost, state: NodeState, ports: string[], rules: string[]) {
  host.stub('firewall-cmd', ['--permanent', ...ports.map((p) => `--add-port=${p}`)], {
    effect: () => void state.permanent.ports.push(...ports),
  });
  for (const rule of rules) {
    host.stub('firewall-cmd', ['--permanent', `--add-rich-rule=${rule}`], {
      effect: () => void state.permanent.rules.push(rule),
    });
  }
}

const cpPorts = [
  '6443/tcp',
  '2379-2380/tcp',
  '10250/tcp',
  '10256/tcp',
  '10257/tcp',
  '10259/tcp',
  '16443/tcp',
  '8472/udp',
];

describe('host-prep', () => {
  for (const os of supportedOsFixtures) {
    it(`GIVEN a fresh ${os} control plane WHEN run twice THEN the first run makes exactly the expected changes and the second none`, async () => {
      const { host, state } = freshNode(os);
      stubFirewallAdds(host, state, cpPorts, ['rule protocol value="vrrp" accept']);

      const first = await runStep(hostPrepStep, cpParams, { host });
      expect(first.error).toBeUndefined();
      expect(first.outcome).toBe('succeeded');
      expect(first.changed).toBe(true);
      expect(sideEffects(host)).toEqual([
        'hostnamectl set-hostname k8s-master1',
        'swapoff -a',
        `systemctl mask '${swapUnit}'`,
        'setenforce 0',
        `firewall-cmd --permanent ${cpPorts.map((p) => `--add-port=${p}`).join(' ')}`,
        `firewall-cmd --permanent '--add-rich-rule=rule protocol value="vrrp" accept'`,
        'firewall-cmd --reload',
        'modprobe overlay',
        'modprobe br_netfilter',
        'sysctl --system',
      ]);
      expect(host.writes.map((w) => [w.path, w.mode])).toEqual([
        ['/etc/hosts', 0o644],
        ['/etc/fstab', 0o644],
        ['/etc/selinux/config', 0o644],
        ['/etc/modules-load.d/kubeha.conf', 0o644],
        ['/etc/sysctl.d/99-kubeha.conf', 0o644],
      ]);
      expect(host.file('/etc/hosts')).toBe(
        `127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n${hostsBlockBegin}\n192.168.1.10 k8s-master1\n192.168.1.11 k8s-master2\n192.168.1.20 k8s-worker1\n${hostsBlockEnd}\n`,
      );
      expect(host.file('/etc/fstab')).toContain('# kubeha: swap off for the kubelet: /dev/mapper/rl-swap     none');
      expect(host.file('/etc/selinux/config')).toContain('\nSELINUX=permissive\nSELINUXTYPE=targeted\n');
      expect(host.file('/etc/modules-load.d/kubeha.conf')).toBe(modulesLoadContent);
      expect(host.file('/etc/sysctl.d/99-kubeha.conf')).toBe(sysctlContent);
      expect(sysctlContent).toContain(
        'net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\n',
      );

      host.clearRecords();
      const second = await runStep(hostPrepStep, cpParams, { host });
      expect(second).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
      expect(sideEffects(host)).toEqual([]);
      expect(host.writes).toEqual([]);
      host.assertNoPendingExpectations();
    });
  }

  it('GIVEN a dry run THEN it lists every change and runs only reads', async () => {
    const { host } = freshNode('rocky-9');
    const result = await runStep(hostPrepStep, cpParams, { host, dryRun: true });
    expect(result.changes).toEqual([
      'set the hostname to k8s-master1 (hostnamectl set-hostname)',
      'write the kubeha block of /etc/hosts (3 nodes)',
      'turn swap off now (swapoff -a: /dev/dm-1)',
      'comment out the swap lines of /etc/fstab (1)',
      `mask the systemd swap units ${swapUnit}`,
      'set SELinux permissive now (setenforce 0)',
      'set SELINUX=permissive in /etc/selinux/config',
      `open ${cpPorts.join(', ')} in firewalld (permanent)`,
      `add the firewalld rich rule 'rule protocol value="vrrp" accept' (permanent)`,
      'reload firewalld so the permanent rules apply now',
      'load overlay and br_netfilter at boot (/etc/modules-load.d/kubeha.conf)',
      'load the kernel module overlay (modprobe overlay)',
      'load the kernel module br_netfilter (modprobe br_netfilter)',
      'write /etc/sysctl.d/99-kubeha.conf (net.ipv4.ip_forward, net.bridge.bridge-nf-call-iptables, net.bridge.bridge-nf-call-ip6tables)',
      'apply the sysctls now (sysctl --system; now net.ipv4.ip_forward=0, net.bridge.bridge-nf-call-iptables=absent, net.bridge.bridge-nf-call-ip6tables=absent)',
    ]);
    expect(sideEffects(host)).toEqual([]);
    expect(host.writes).toEqual([]);
  });

  it('GIVEN a worker with calico THEN it opens the worker and calico ports and no VRRP rule', async () => {
    const { host, state } = freshNode('rocky-9');
    const ports = ['10250/tcp', '10256/tcp', '30000-32767/tcp', '179/tcp', '4789/udp', '5473/tcp'];
    stubFirewallAdds(host, state, ports, ['rule protocol value="4" accept']);
    host.stub('hostnamectl', ['set-hostname', 'k8s-worker1'], {
      effect: (h) => h.setFile('/etc/hostname', 'k8s-worker1\n'),
    });
    host.factsValue.hostname = 'k8s-worker1';
    const result = await runStep(
      hostPrepStep,
      { hostname: 'k8s-worker1', role: 'worker', nodes, cni: 'calico' },
      { host },
    );
    expect(result.error).toBeUndefined();
    expect(sideEffects(host)).toContain(`firewall-cmd --permanent ${ports.map((p) => `--add-port=${p}`).join(' ')}`);
    expect(sideEffects(host).join('\n')).not.toContain('vrrp');
  });

  it('GIVEN firewall disabled and selinux enforcing THEN firewalld is stopped and SELinux left alone', async () => {
    const { host } = freshNode('centos-stream-8');
    host.stub('getsebool', ['haproxy_connect_any'], { stdout: 'haproxy_connect_any --> off\n' });
    host.stub('setsebool', ['-P', 'haproxy_connect_any', '1']);
    const result = await runStep(
      hostPrepStep,
      { ...cpParams, firewall: 'disabled', selinux: 'enforcing' },
      { host, dryRun: true },
    );
    expect(result.changes).toContain('stop and disable firewalld (spec: firewall disabled)');
    expect(result.changes).toContain(
      'allow HAProxy to use any port under SELinux (setsebool -P haproxy_connect_any 1)',
    );
    expect(result.changes.join('\n')).not.toContain('SELINUX=permissive');
    expect(result.changes.join('\n')).not.toContain('setenforce');
  });

  it('refuses invalid hostnames, addresses and shell metacharacters before any command runs', async () => {
    for (const params of [
      { ...cpParams, hostname: 'K8S_Master' },
      { ...cpParams, hostname: 'master1;reboot' },
      { ...cpParams, hostname: '-master' },
      { ...cpParams, nodes: [{ name: 'a', address: '192.168.1.300', role: 'worker' }] },
      { ...cpParams, nodes: [{ name: 'a', address: '$(reboot)', role: 'worker' }] },
      { ...cpParams, nodes: [{ name: 'a b', address: '10.0.0.1', role: 'worker' }] },
      { ...cpParams, firewall: 'off' },
    ]) {
      const host = new FakeHost();
      const result = await runStep(hostPrepStep, params, { host });
      expect(result.error?.code, JSON.stringify(params)).toBe(ErrorCode.paramsInvalid);
      expect(host.commands).toEqual([]);
    }
    const bad = await runStep(
      hostPrepStep,
      { ...cpParams, nodes: [{ name: 'a', address: 'x', role: 'worker' }] },
      { host: new FakeHost() },
    );
    expect(bad.error?.message).toContain('host-prep.nodes[0].address: not an IPv4 or IPv6 address');
  });
});
