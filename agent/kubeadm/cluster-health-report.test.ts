import { describe, expect, it } from 'vitest';
import {
  controlPlanePods,
  cp1Kubeconfigs,
  endpoint,
  endpointHealthJson,
  endpointStatusJson,
  kubeconfig,
  leaseList,
  memberListJson,
  nodeList,
  specNodes,
} from './cluster-health.fixture.ts';
import { buildClusterHealthReport, type ClusterObservations } from './cluster-health-report.ts';
import { parseEndpointHealth, parseEndpointStatus, parseMemberList } from './etcdctl.ts';

function healthy(): ClusterObservations {
  return {
    endpoint,
    checkedOn: specNodes[0]!,
    specNodes,
    nodeList: structuredClone(nodeList),
    controlPlanePods: structuredClone(controlPlanePods),
    etcd: {
      members: parseMemberList(memberListJson),
      health: parseEndpointHealth(endpointHealthJson),
      status: parseEndpointStatus(endpointStatusJson),
    },
    leases: structuredClone(leaseList),
    readyz: { httpStatus: 200, body: 'ok' },
    kubeconfigs: { ...cp1Kubeconfigs },
    podNetwork: {
      checked: [
        { from: 'cp1', to: 'cp2', ok: true },
        { from: 'cp2', to: 'cp3', ok: true },
        { from: 'cp3', to: 'w1', ok: true },
        { from: 'w1', to: 'cp1', ok: true },
      ],
      problems: [],
    },
  };
}

describe('buildClusterHealthReport', () => {
  it('GIVEN pod traffic failing from cp3 to w1 and a probe pod that never started WHEN judged THEN each is a problem naming the nodes', () => {
    const o = healthy();
    o.podNetwork = {
      checked: [
        { from: 'cp1', to: 'cp2', ok: true },
        { from: 'cp3', to: 'w1', ok: false, error: 'connect: no route to host' },
      ],
      problems: ['the probe pod on w2 did not become Ready within 120 s: Pending'],
    };
    const report = buildClusterHealthReport(o);
    expect(report.ok).toBe(false);
    expect(report.podNetwork.checked).toHaveLength(2);
    expect(report.problems).toEqual([
      'the probe pod on w2 did not become Ready within 120 s: Pending',
      'pod traffic from cp3 to w1: connect: no route to host',
    ]);
  });

  it('GIVEN the pod traffic check was skipped WHEN judged THEN the report says why and it is no problem', () => {
    const o = healthy();
    o.podNetwork = { skipped: 'no probe image was given' };
    const report = buildClusterHealthReport(o);
    expect(report.ok).toBe(true);
    expect(report.podNetwork).toEqual({ checked: [], skipped: 'no probe image was given' });
  });

  it('GIVEN a healthy cluster WHEN judged THEN ok with the etcd leader, lease holders and where each kubeconfig points', () => {
    const report = buildClusterHealthReport(healthy());
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.nodes.map((n) => n.name)).toEqual(['cp1', 'cp2', 'cp3', 'w1']);
    expect(report.controlPlanePods).toHaveLength(12);
    expect(report.etcd.leader).toBe('cp2');
    expect(report.etcd.members.map((m) => [m.name, m.healthy, m.isLeader])).toEqual([
      ['cp1', true, false],
      ['cp2', true, true],
      ['cp3', true, false],
    ]);
    expect(report.leases).toEqual([
      { name: 'kube-controller-manager', holderIdentity: leaseList.items[0]!.spec.holderIdentity, holderNode: 'cp2' },
      { name: 'kube-scheduler', holderIdentity: leaseList.items[1]!.spec.holderIdentity, holderNode: 'cp3' },
    ]);
    expect(report.readyz).toEqual({ url: 'https://10.152.0.6:16443/readyz', ok: true, httpStatus: 200 });
    expect(report.kubeconfigs.map((k) => k.pointsAt)).toEqual([
      'endpoint',
      'local-apiserver',
      'local-apiserver',
      'local-apiserver',
    ]);
  });

  it('GIVEN each thing that can be wrong WHEN judged THEN each is a problem', () => {
    const o = healthy();
    (o.nodeList as typeof nodeList).items[3]!.status = { conditions: [{ type: 'Ready', status: 'False' }] };
    (o.controlPlanePods as typeof controlPlanePods).items.splice(1, 1); // kube-apiserver-cp1
    (o.controlPlanePods as typeof controlPlanePods).items[0]!.status.phase = 'Pending';
    const etcd = o.etcd as Exclude<ClusterObservations['etcd'], Error>;
    etcd.members[2]!.isLearner = true;
    etcd.health[1]!.healthy = false;
    etcd.status[0]!.leaderId = '11';
    (o.leases as typeof leaseList).items[1]!.spec.holderIdentity = '';
    o.readyz = { httpStatus: 500, body: '[-]etcd failed' };
    o.kubeconfigs['/etc/kubernetes/admin.conf'] = kubeconfig('https://192.168.1.10:6443');
    o.kubeconfigs['/etc/kubernetes/kubelet.conf'] = kubeconfig('https://192.168.1.11:6443');
    o.kubeconfigs['/etc/kubernetes/scheduler.conf'] = undefined;
    const report = buildClusterHealthReport(o);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      'node w1 is not Ready',
      'etcd on cp1 is Pending',
      'kube-apiserver on cp1 is Missing',
      'etcd member cp2 is not healthy',
      'etcd member cp3 is still a learner',
      'etcd has 2 leader(s), expected exactly one',
      'lease kube-scheduler has no holder',
      'GET https://10.152.0.6:16443/readyz answered 500',
      '/etc/kubernetes/admin.conf points at https://192.168.1.10:6443, not at https://10.152.0.6:16443',
      '/etc/kubernetes/kubelet.conf points at https://192.168.1.11:6443, not at https://10.152.0.6:16443',
      '/etc/kubernetes/scheduler.conf does not exist',
    ]);
  });

  it('GIVEN a missing etcd member and a lease held outside the control planes WHEN judged THEN both are named', () => {
    const o = healthy();
    const etcd = o.etcd as Exclude<ClusterObservations['etcd'], Error>;
    etcd.members.pop();
    (o.leases as typeof leaseList).items[0]!.spec.holderIdentity = 'w1_abc';
    const report = buildClusterHealthReport(o);
    expect(report.problems).toEqual([
      'control plane cp3 has 0 etcd members, expected 1',
      'etcd has 2 members for 3 control planes',
      'lease kube-controller-manager is held by w1, which is not a control plane of the spec',
    ]);
  });

  it('GIVEN reads that failed WHEN judged THEN the report still comes, naming what could not be read', () => {
    const o = healthy();
    o.nodeList = new Error('kubectl exited with 1: connection refused');
    o.etcd = new Error('no running etcd container on this node (crictl ps)');
    o.readyz = new Error('curl exited with 28');
    const report = buildClusterHealthReport(o);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      'listing nodes: kubectl exited with 1: connection refused',
      'asking etcd: no running etcd container on this node (crictl ps)',
      'GET https://10.152.0.6:16443/readyz: curl exited with 28',
    ]);
  });
});
