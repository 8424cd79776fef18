import { describe, expect, it } from 'vitest';
import { runStep } from '../../step-execution/step-runner.ts';
import { hostPrepStep } from '../host-prep.ts';
import { cpParams, freshNode, nodes, sideEffects, stubFirewallAdds } from './host-prep-node.fixture.ts';

describe('host-prep firewall', () => {
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
});
