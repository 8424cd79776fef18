import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import {
  controlPlanePods,
  cp1Kubeconfigs,
  endpoint,
  endpointHealthJson,
  endpointStatusJson,
  leaseList,
  memberListJson,
  nodeList,
  specNodes,
} from '../kubeadm/cluster-health.fixture.ts';
import type { ClusterHealthReport } from '../kubeadm/cluster-health-report.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { verifyStep } from './verify.ts';

const admin = ['--kubeconfig', '/etc/kubernetes/admin.conf'];
const container = 'a1b2c3d4e5f6';
const tls = [
  '--endpoints',
  'https://127.0.0.1:2379',
  '--cacert',
  '/etc/kubernetes/pki/etcd/ca.crt',
  '--cert',
  '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
  '--key',
  '/etc/kubernetes/pki/etcd/healthcheck-client.key',
];
const etcdctl = (...args: string[]) => ['exec', '--sync', container, 'etcdctl', ...tls, ...args];
const curl = [
  '-sS',
  '--globoff',
  '--max-time',
  '5',
  '--cacert',
  '/etc/kubernetes/pki/ca.crt',
  '-w',
  '\n%{http_code}',
  `https://${endpoint}/readyz`,
];
const params = { controlPlaneEndpoint: endpoint, nodes: specNodes, nodeName: 'cp1' };

function cluster(overrides: { nodes?: unknown; readyz?: string } = {}): FakeHost {
  const host = new FakeHost({ facts: { hostname: 'cp1' }, files: cp1Kubeconfigs });
  host.expect('kubectl', [...admin, 'get', 'nodes', '-o', 'json'], {
    stdout: JSON.stringify(overrides.nodes ?? nodeList),
  });
  host.expect('kubectl', [...admin, '-n', 'kube-system', 'get', 'pods', '-l', 'tier=control-plane', '-o', 'json'], {
    stdout: JSON.stringify(controlPlanePods),
  });
  host.expect('crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'], {
    stdout: `${container}\n`,
  });
  host.expect('crictl', etcdctl('member', 'list', '-w', 'json'), { stdout: memberListJson });
  host.expect('crictl', etcdctl('endpoint', 'health', '--cluster', '-w', 'json'), { stdout: endpointHealthJson });
  host.expect('crictl', etcdctl('endpoint', 'status', '--cluster', '-w', 'json'), { stdout: endpointStatusJson });
  host.expect(
    'kubectl',
    [...admin, '-n', 'kube-system', 'get', 'lease', 'kube-controller-manager', 'kube-scheduler', '-o', 'json'],
    { stdout: JSON.stringify(leaseList) },
  );
  host.expect('curl', curl, { stdout: overrides.readyz ?? 'ok\n200' });
  return host;
}

describe('verify', () => {
  it('GIVEN a healthy cluster WHEN verified THEN succeeded, nothing changed, and the report is in the "report" output', async () => {
    const host = cluster();
    const result = await runStep(verifyStep, params, { host });
    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
    const report = JSON.parse(result.outputs.report ?? '{}') as ClusterHealthReport;
    expect(report).toMatchObject({ ok: true, checkedOn: 'cp1', endpoint, problems: [] });
    expect(report.etcd.leader).toBe('cp2');
    expect(report.leases.map((l) => l.holderNode)).toEqual(['cp2', 'cp3']);
    expect(host.writes).toEqual([]);
  });

  it('GIVEN a NotReady worker and a failing /readyz WHEN verified THEN failed, with the report and each problem logged', async () => {
    const sick = structuredClone(nodeList);
    sick.items[3]!.status = { conditions: [{ type: 'Ready', status: 'False' }] };
    const host = cluster({ nodes: sick, readyz: '[-]etcd failed: reason withheld\nreadyz check failed\n500' });
    const lines: string[] = [];
    const result = await runStep(verifyStep, params, { host, onLog: (_s, t) => lines.push(t) });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toContain('the cluster is not healthy: node w1 is not Ready');
    const report = JSON.parse(result.outputs.report ?? '{}') as ClusterHealthReport;
    expect(report.ok).toBe(false);
    expect(report.readyz.httpStatus).toBe(500);
    expect(lines).toContain('problem: node w1 is not Ready');
    // Not Ready may pass: the coordinator retries it.
    expect(result.error).toMatchObject({ code: 'KUBEHA_STEP_FAILED', deterministic: false });
  });

  it('GIVEN a node of the spec the API server does not list WHEN verified THEN refused as deterministic: no retry can make it join', async () => {
    const without = structuredClone(nodeList);
    without.items.splice(3, 1);
    const host = cluster({ nodes: without });
    const result = await runStep(verifyStep, params, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ code: 'KUBEHA_STEP_REFUSED', deterministic: true });
    expect(result.error?.message).toContain('node w1 is not in the cluster');
    const report = JSON.parse(result.outputs.report ?? '{}') as ClusterHealthReport;
    expect(report.nodes.find((n) => n.name === 'w1')).toMatchObject({ inCluster: false, ready: false });
  });

  it('GIVEN the step lands on a worker WHEN verified THEN it refuses', async () => {
    const host = new FakeHost({ facts: { hostname: 'w1' } });
    const result = await runStep(verifyStep, { ...params, nodeName: '' }, { host });
    expect(result.error?.message).toMatch(/verify runs on a control plane; w1 is not one/);
    expect(result.error).toMatchObject({ code: 'KUBEHA_STEP_REFUSED', deterministic: true });
  });
});
