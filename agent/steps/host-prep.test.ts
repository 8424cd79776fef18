import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { supportedOsFixtures } from '../../test/fixtures/os-release/os-release-fixtures.ts';
import { FakeHost } from '../host/fake-host.ts';
import { hostsBlockBegin, hostsBlockEnd } from '../host-files/hosts-block.ts';
import { runStep } from '../step-execution/step-runner.ts';
import {
  cpParams,
  cpPorts,
  freshNode,
  sideEffects,
  stubFirewallAdds,
  swapUnit,
} from './host-prep/host-prep-node.fixture.ts';
import { modulesLoadContent, sysctlContent } from './host-prep/kernel.ts';
import { hostPrepParts, hostPrepStep } from './host-prep.ts';

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

  it('walks its parts in order, each under a stable name', () => {
    expect(hostPrepParts.map((p) => p.name)).toEqual(['hostname', 'hosts', 'swap', 'selinux', 'firewall', 'kernel']);
  });
});
