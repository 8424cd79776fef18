import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { kubeadmResetStep } from './kubeadm-reset.ts';

const dirtyV4 = `*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
COMMIT
`;
const cleanV4 = '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n';
const ipvs = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  0A600001:01BB rr
`;

function failedControlPlane(): FakeHost {
  return new FakeHost({
    facts: { hostname: 'k8s-master2.example.com' },
    files: {
      '/etc/kubernetes/bootstrap-kubelet.conf': 'x',
      '/etc/kubernetes/pki/ca.crt': 'x',
      '/etc/kubernetes/manifests/etcd.yaml': 'x',
      '/var/lib/etcd/member/snap/db': 'x',
      '/etc/cni/net.d/10-flannel.conflist': '{}',
      '/proc/net/ip_vs': ipvs,
    },
  });
}

/** What the real kubeadm reset -f does: it deletes the files, and empties /etc/kubernetes/pki but leaves it. */
function resets(host: FakeHost): void {
  for (const p of [
    '/etc/kubernetes/bootstrap-kubelet.conf',
    '/etc/kubernetes/pki/ca.crt',
    '/etc/kubernetes/manifests/etcd.yaml',
  ]) {
    host.deleteFile(p);
  }
  void host.mkdir('/etc/kubernetes/pki', 0o755);
}

describe('kubeadm-reset', () => {
  it('GIVEN a failed control-plane join WHEN cleaned THEN reset, etcd data, CNI config, Kubernetes iptables rules and IPVS go', async () => {
    const host = failedControlPlane();
    // check, apply's plan, the apply itself, then the check after.
    for (const dump of [dirtyV4, dirtyV4, dirtyV4, cleanV4]) host.expect('iptables-save', [], { stdout: dump });
    host.stub('ip6tables-save', [], { exitCode: 1, stderr: 'ip6tables-save: table does not exist' });
    host.expect('kubeadm', ['reset', '-f'], { effect: resets });
    host.expect('iptables-restore', []);
    host.expect('ipvsadm', ['--clear'], { effect: (h) => h.setFile('/proc/net/ip_vs', ipvs.split('TCP')[0]!) });
    const result = await runStep(kubeadmResetStep, { nodeName: 'k8s-master2' }, { host });
    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('succeeded');
    expect(result.changes).toEqual([
      'kubeadm reset -f (found /etc/kubernetes/bootstrap-kubelet.conf, /etc/kubernetes/pki, /etc/kubernetes/manifests/etcd.yaml)',
      'remove /var/lib/etcd',
      'remove /etc/cni/net.d/10-flannel.conflist',
      'remove 2 Kubernetes IPv4 iptables chains and rules (iptables-restore)',
      'ipvsadm --clear (1 virtual services)',
    ]);
    expect(host.removed).toEqual(['/var/lib/etcd', '/etc/cni/net.d/10-flannel.conflist']);
    expect(host.commandLines().filter((c) => !c.endsWith('-save'))).toEqual([
      'kubeadm reset -f',
      'iptables-restore',
      'ipvsadm --clear',
    ]);
  });

  it('GIVEN the iptables-restore input WHEN cleaned THEN it is the dump without the Kubernetes chains', async () => {
    const host = new FakeHost({ facts: { hostname: 'k8s-master2' } });
    for (const dump of [dirtyV4, dirtyV4, dirtyV4, cleanV4]) host.expect('iptables-save', [], { stdout: dump });
    host.stub('ip6tables-save', [], { stdout: '' });
    let restored: string | undefined;
    const realExec = host.exec.bind(host);
    host.exec = async (command, args, options) => {
      if (command === 'iptables-restore') restored = options?.input;
      return realExec(command, args, options);
    };
    host.expect('iptables-restore', []);
    const result = await runStep(kubeadmResetStep, { nodeName: 'k8s-master2' }, { host });
    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('succeeded');
    expect(restored).toBe(cleanV4);
  });

  it('GIVEN a clean node WHEN cleaned THEN nothing changes', async () => {
    const host = new FakeHost({ facts: { hostname: 'k8s-master2' } });
    host.stub('iptables-save', [], { stdout: cleanV4 });
    host.stub('ip6tables-save', [], { stdout: '' });
    const result = await runStep(kubeadmResetStep, { nodeName: 'k8s-master2' }, { host });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: false });
    expect(host.commandLines()).toEqual(['iptables-save', 'ip6tables-save']);
  });

  it('GIVEN the step lands on another node WHEN run THEN it refuses and touches nothing', async () => {
    const host = failedControlPlane();
    const result = await runStep(kubeadmResetStep, { nodeName: 'k8s-master3' }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(/this node is k8s-master2\.example\.com, not k8s-master3/);
    // Another attempt lands on the same node: the refusal is final.
    expect(result.error).toMatchObject({ code: 'KUBEHA_STEP_REFUSED', deterministic: true });
    expect(host.commandLines()).toEqual([]);
    expect(host.removed).toEqual([]);
  });
});
