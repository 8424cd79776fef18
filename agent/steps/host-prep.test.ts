import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { osReleaseFixture, supportedOsFixtures } from '../../test/fixtures/os-release/os-release-fixtures.ts';
import { FakeHost } from '../host/fake-host.ts';
import { hostsBlockBegin, hostsBlockEnd } from '../host-files/hosts-block.ts';
import { runStep } from '../step-execution/step-runner.ts';
import {
  checkScriptPath,
  checkScriptType,
  hostPrepStep,
  modulesLoadContent,
  selinuxBooleansFor,
  sysctlContent,
} from './host-prep.ts';

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
  'firewall-cmd --permanent --zone=trusted --list',
  'firewall-cmd --zone=trusted --list',
  'getsebool',
  'semanage fcontext --list',
  'stat -c',
]);
function sideEffects(host: FakeHost): string[] {
  return host.commandLines().filter((l) => ![...readOnly].some((r) => l.startsWith(r)));
}

interface NodeState {
  selinux: string;
  swapMasked: boolean;
  firewalld: 'active' | 'inactive';
  firewalldEnabled: boolean;
  permanent: FirewallZones;
  runtime: FirewallZones;
}

interface FirewallZones {
  ports: string[];
  rules: string[];
  trustedInterfaces: string[];
  trustedSources: string[];
}

const emptyZones = (): FirewallZones => ({ ports: [], rules: [], trustedInterfaces: [], trustedSources: [] });

/** A freshly installed EL node: swap on, SELinux enforcing, firewalld running with nothing open. */
function freshNode(os: Parameters<typeof osReleaseFixture>[0], overrides: Partial<NodeState> = {}) {
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

function stubFirewallAdds(
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

const flannelInterfaces = ['cni0', 'flannel.1'];
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
        'firewall-cmd --permanent --zone=trusted --change-interface=cni0',
        'firewall-cmd --permanent --zone=trusted --change-interface=flannel.1',
        'firewall-cmd --reload',
        'modprobe overlay',
        'modprobe br_netfilter',
        'sysctl -p /etc/sysctl.d/99-kubeha.conf',
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
      "put the flannel interfaces cni0, flannel.1 in firewalld's trusted zone (permanent), so pod traffic is forwarded",
      'reload firewalld so the permanent rules apply now',
      'load overlay and br_netfilter at boot (/etc/modules-load.d/kubeha.conf)',
      'load the kernel module overlay (modprobe overlay)',
      'load the kernel module br_netfilter (modprobe br_netfilter)',
      'write /etc/sysctl.d/99-kubeha.conf (net.ipv4.ip_forward, net.bridge.bridge-nf-call-iptables, net.bridge.bridge-nf-call-ip6tables)',
      'apply the sysctls now (sysctl -p /etc/sysctl.d/99-kubeha.conf; now net.ipv4.ip_forward=0, net.bridge.bridge-nf-call-iptables=absent, net.bridge.bridge-nf-call-ip6tables=absent)',
    ]);
    expect(sideEffects(host)).toEqual([]);
    expect(host.writes).toEqual([]);
  });

  it('GIVEN a worker with calico THEN it opens the worker and calico ports and no VRRP rule', async () => {
    const { host, state } = freshNode('rocky-9');
    const ports = ['10250/tcp', '10256/tcp', '30000-32767/tcp', '179/tcp', '4789/udp', '5473/tcp'];
    stubFirewallAdds(host, state, ports, ['rule protocol value="4" accept'], {
      interfaces: ['cali+', 'tunl0', 'vxlan.calico'],
      sources: [],
    });
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
      'set the SELinux boolean haproxy_connect_any on, now and after reboot (setsebool -P haproxy_connect_any 1)',
    );
    expect(result.changes.join('\n')).not.toContain('SELINUX=permissive');
    expect(result.changes.join('\n')).not.toContain('setenforce');
  });

  it('GIVEN a stale third-party sysctl file with a key this kernel lacks THEN it applies only its own file and warns', async () => {
    // GIVEN sysctl --system exits 1 on this node, as procps does when any file names a missing key
    const { host, state } = freshNode('rocky-9');
    stubFirewallAdds(host, state, cpPorts, ['rule protocol value="vrrp" accept']);
    host.setFile('/etc/sysctl.d/50-tuning.conf', '# old tuning\nnet.ipv4.tcp_tw_recycle = 0\n-net.ipv4.gone = 1\n');
    host.setFile('/usr/lib/sysctl.d/99-zz-vendor.conf', 'net.ipv4.ip_forward = 0\n');
    host.stub('sysctl', ['--system'], { exitCode: 1, stderr: 'sysctl: cannot stat /proc/sys/net/ipv4/tcp_tw_recycle' });
    const logs: string[] = [];
    // WHEN host-prep runs
    const result = await runStep(hostPrepStep, cpParams, { host, onLog: (_s, line) => logs.push(line) });
    // THEN it succeeds with kubeha's own file applied and verified
    expect(result.error).toBeUndefined();
    expect(result.outcome).toBe('succeeded');
    expect(host.commandLines()).toContain('sysctl -p /etc/sysctl.d/99-kubeha.conf');
    expect(host.commandLines()).not.toContain('sysctl --system');
    expect(host.file('/proc/sys/net/ipv4/ip_forward')).toBe('1\n');
    // AND the other files' problems are warnings naming the file and the key (the '-' key is skipped, as systemd does)
    const warnings = logs.filter((l) => l.startsWith('warning: '));
    expect(warnings).toContain(
      'warning: /etc/sysctl.d/50-tuning.conf sets net.ipv4.tcp_tw_recycle, which this kernel does not have (sysctl --system fails on it)',
    );
    expect(warnings.join('\n')).toContain(
      '/usr/lib/sysctl.d/99-zz-vendor.conf sets net.ipv4.ip_forward = 0 after /etc/sysctl.d/99-kubeha.conf',
    );
    expect(warnings.join('\n')).not.toContain('net.ipv4.gone');
  });

  it('GIVEN SELinux enforcing on a control plane running keepalived and HAProxy THEN it sets both booleans and labels the check script, once', async () => {
    const { host, state } = freshNode('rocky-9');
    stubFirewallAdds(host, state, cpPorts, ['rule protocol value="vrrp" accept']);
    const booleans: Record<string, string> = { haproxy_connect_any: 'off', keepalived_connect_any: 'off' };
    let localRules = '';
    let label = 'system_u:object_r:bin_t:s0';
    host.setFile('/usr/libexec/kubeha/check-apiserver', '#!/bin/sh\n', 0o755);
    for (const name of Object.keys(booleans)) {
      host.stub('getsebool', [name], { stdout: () => `${name} --> ${booleans[name]}\n` });
      host.stub('setsebool', ['-P', name, '1'], {
        effect: () => {
          booleans[name] = 'on';
        },
      });
    }
    host
      .stub('semanage', ['fcontext', '--list', '--locallist'], { stdout: () => localRules })
      .stub('semanage', ['fcontext', '--add', '--type', checkScriptType, checkScriptPath], {
        effect: () => {
          localRules = `${checkScriptPath}    all files    system_u:object_r:${checkScriptType}:s0\n`;
        },
      })
      .stub('stat', ['-c', '%C', checkScriptPath], { stdout: () => `${label}\n` })
      .stub('restorecon', ['-F', checkScriptPath], {
        effect: () => {
          if (localRules) label = `system_u:object_r:${checkScriptType}:s0`;
        },
      });
    const params = { ...cpParams, selinux: 'enforcing', keepalived: true };
    const first = await runStep(hostPrepStep, params, { host });
    expect(first.error).toBeUndefined();
    expect(sideEffects(host).filter((l) => /sebool|semanage|restorecon|setenforce/.test(l))).toEqual([
      'setsebool -P haproxy_connect_any 1',
      'setsebool -P keepalived_connect_any 1',
      `semanage fcontext --add --type ${checkScriptType} ${checkScriptPath}`,
      `restorecon -F ${checkScriptPath}`,
    ]);
    expect(host.file('/etc/selinux/config')).toContain('SELINUX=enforcing');
    host.clearRecords();
    const second = await runStep(hostPrepStep, params, { host });
    expect(second).toMatchObject({ outcome: 'succeeded', changed: false });
    // AND a worker (no keepalived, no HAProxy) needs none of it
    expect(selinuxBooleansFor({ role: 'worker', lbPort: 0, keepalived: false })).toEqual([]);
  });

  for (const os of ['centos-stream-8', 'rocky-9'] as const) {
    it(`GIVEN ${os} with calico and a pod network THEN the CNI interfaces and the pod network go to the trusted zone, with no zone forward option`, async () => {
      // (EL8's firewalld 0.9 has no --add-forward; the trusted zone's ACCEPT target forwards in 0.9 and 1.x alike)
      const { host, state } = freshNode(os);
      const ports = ['10250/tcp', '10256/tcp', '30000-32767/tcp', '179/tcp', '4789/udp', '5473/tcp'];
      stubFirewallAdds(host, state, ports, ['rule protocol value="4" accept'], {
        interfaces: ['cali+', 'tunl0', 'vxlan.calico'],
        sources: ['10.244.0.0/16'],
      });
      host.stub('hostnamectl', ['set-hostname', 'k8s-worker1'], {
        effect: (h) => h.setFile('/etc/hostname', 'k8s-worker1\n'),
      });
      host.factsValue.hostname = 'k8s-worker1';
      const params = { hostname: 'k8s-worker1', role: 'worker', nodes, cni: 'calico', podSubnet: '10.244.0.0/16' };
      const result = await runStep(hostPrepStep, params, { host });
      expect(result.error).toBeUndefined();
      const firewall = sideEffects(host).filter((l) => l.includes('--zone=trusted'));
      expect(firewall).toEqual([
        'firewall-cmd --permanent --zone=trusted --change-interface=cali+',
        'firewall-cmd --permanent --zone=trusted --change-interface=tunl0',
        'firewall-cmd --permanent --zone=trusted --change-interface=vxlan.calico',
        'firewall-cmd --permanent --zone=trusted --add-source=10.244.0.0/16',
      ]);
      expect(host.commandLines().join('\n')).not.toContain('forward');
      expect(state.runtime.trustedSources).toEqual(['10.244.0.0/16']);
      host.clearRecords();
      expect(await runStep(hostPrepStep, params, { host })).toMatchObject({ outcome: 'succeeded', changed: false });
    });
  }

  it('refuses invalid hostnames, addresses and shell metacharacters before any command runs', async () => {
    for (const params of [
      { ...cpParams, hostname: 'K8S_Master' },
      { ...cpParams, hostname: 'master1;reboot' },
      { ...cpParams, hostname: '-master' },
      { ...cpParams, nodes: [{ name: 'a', address: '192.168.1.300', role: 'worker' }] },
      { ...cpParams, nodes: [{ name: 'a', address: '$(reboot)', role: 'worker' }] },
      { ...cpParams, nodes: [{ name: 'a b', address: '10.0.0.1', role: 'worker' }] },
      { ...cpParams, firewall: 'off' },
      { ...cpParams, podSubnet: '10.244.0.0' },
      { ...cpParams, podSubnet: '10.244.0.0/16; reboot' },
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
    const badCidr = await runStep(hostPrepStep, { ...cpParams, podSubnet: '300.1.0.0/16' }, { host: new FakeHost() });
    expect(badCidr.error?.message).toContain('host-prep.podSubnet: not an IP network');
  });
});
