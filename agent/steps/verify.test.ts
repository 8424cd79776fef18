import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { readyzCurlArgs } from '../kubeadm/apiserver-readyz.fixture.ts';
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
import { etcdctlCommand, etcdctlTls } from '../kubeadm/etcdctl.ts';
import { dialAnswered, dialRejected, proxyUnreachableStderr } from '../kubeadm/pod-network-probe.fixture.ts';
import { dialPath } from '../kubeadm/pod-network-probe.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { verifyStep } from './verify.ts';

const admin = ['--kubeconfig', '/etc/kubernetes/admin.conf'];
/** kubectl as the admin in kube-system. */
const kubeSystem = (...args: string[]) => [...admin, '-n', 'kube-system', ...args];
const container = 'a1b2c3d4e5f6';
const etcdctl = (...args: string[]) => ['exec', '--sync', container, 'etcdctl', ...etcdctlTls, ...args];
const curl = readyzCurlArgs(`https://${endpoint}/readyz`);
const params = { controlPlaneEndpoint: endpoint, nodes: specNodes, nodeName: 'cp1' };

function cluster(overrides: { nodes?: unknown; readyz?: string } = {}): FakeHost {
  const host = new FakeHost({ facts: { hostname: 'cp1' }, files: cp1Kubeconfigs });
  host.expect('kubectl', [...admin, 'get', 'nodes', '-o', 'json'], {
    stdout: JSON.stringify(overrides.nodes ?? nodeList),
  });
  host.expect('kubectl', kubeSystem('get', 'pods', '-l', 'tier=control-plane', '-o', 'json'), {
    stdout: JSON.stringify(controlPlanePods),
  });
  host.expect('crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'], {
    stdout: `${container}\n`,
  });
  host.expect('crictl', etcdctl('member', 'list', '-w', 'json'), { stdout: memberListJson });
  const health = JSON.parse(endpointHealthJson) as { endpoint: string }[];
  const status = JSON.parse(endpointStatusJson) as { Endpoint: string }[];
  for (const h of health) {
    host.expect('crictl', etcdctlCommand(container, ['endpoint', 'health', '-w', 'json'], h.endpoint), {
      stdout: JSON.stringify([h]),
    });
  }
  for (const st of status) {
    host.expect('crictl', etcdctlCommand(container, ['endpoint', 'status', '-w', 'json'], st.Endpoint), {
      stdout: JSON.stringify([st]),
    });
  }
  host.expect('kubectl', kubeSystem('get', 'lease', 'kube-controller-manager', 'kube-scheduler', '-o', 'json'), {
    stdout: JSON.stringify(leaseList),
  });
  host.expect('curl', curl, { stdout: overrides.readyz ?? 'ok\n200' });
  return host;
}

const image = 'registry.k8s.io/e2e-test-images/agnhost:2.56';
const probeNodes = ['cp1', 'cp2', 'cp3', 'w1'];
const podIps: Record<string, string> = { cp1: '10.244.0.4', cp2: '10.244.1.4', cp3: '10.244.2.4', w1: '10.244.3.4' };
const deleteProbes = kubeSystem(
  'delete',
  'pods',
  '-l',
  'app.kubernetes.io/name=kubeha-pod-probe,app.kubernetes.io/managed-by=kubeha',
  '--ignore-not-found',
  '--wait=true',
  '--timeout=60s',
);

function probePods(notReady: string[] = []) {
  return {
    kind: 'PodList',
    items: probeNodes.map((node) => ({
      metadata: { name: `kubeha-pod-probe-${node}` },
      spec: { nodeName: node },
      status: notReady.includes(node)
        ? {
            phase: 'Pending',
            conditions: [{ type: 'Ready', status: 'False' }],
            containerStatuses: [{ state: { waiting: { reason: 'ErrImagePull', message: 'not found' } } }],
          }
        : { phase: 'Running', podIP: podIps[node], conditions: [{ type: 'Ready', status: 'True' }] },
    })),
  };
}

/** The probe's commands on the healthy cluster; `dial` overrides a pair's kubectl reply. */
function expectProbe(
  host: FakeHost,
  options: { dial?: Record<string, { stdout?: string; stderr?: string; exitCode?: number }>; notReady?: string[] } = {},
): void {
  host.expect('kubectl', deleteProbes);
  host.expect('kubectl', [...admin, 'create', '-f', '-'], { stdout: 'pod/kubeha-pod-probe-cp1 created\n' });
  host.expect(
    'kubectl',
    kubeSystem(
      'wait',
      '--for=condition=Ready',
      ...probeNodes.map((n) => `pod/kubeha-pod-probe-${n}`),
      '--timeout=120s',
    ),
    options.notReady?.length ? { exitCode: 1, stderr: 'error: timed out waiting for the condition\n' } : {},
  );
  host.expect(
    'kubectl',
    kubeSystem(
      'get',
      'pods',
      '-l',
      'app.kubernetes.io/name=kubeha-pod-probe,app.kubernetes.io/managed-by=kubeha',
      '-o',
      'json',
    ),
    { stdout: JSON.stringify(probePods(options.notReady)) },
  );
  for (const node of options.notReady ?? []) {
    host.expect(
      'kubectl',
      kubeSystem(
        'get',
        'events',
        '--field-selector',
        `involvedObject.kind=Pod,involvedObject.name=kubeha-pod-probe-${node}`,
        '-o',
        'json',
      ),
      { stdout: JSON.stringify({ items: [{ reason: 'Failed', message: 'Error: ErrImagePull', lastTimestamp: 'x' }] }) },
    );
  }
  const ring = [
    ['cp1', 'cp2'],
    ['cp2', 'cp3'],
    ['cp3', 'w1'],
    ['w1', 'cp1'],
  ];
  for (const [from, to] of ring) {
    if (options.notReady?.includes(from!) || options.notReady?.includes(to!)) continue;
    host.expect(
      'kubectl',
      [...admin, 'get', '--raw', dialPath(`kubeha-pod-probe-${from}`, podIps[to!]!)],
      options.dial?.[`${from}->${to}`] ?? { stdout: dialAnswered(`kubeha-pod-probe-${to}`) },
    );
  }
  host.expect('kubectl', deleteProbes);
}

describe('verify', () => {
  it('GIVEN a healthy cluster and a probe image WHEN verified THEN pod traffic is checked around the ring of Ready nodes and the probe pods are deleted before and after', async () => {
    const host = cluster();
    expectProbe(host);
    const result = await runStep(verifyStep, { ...params, podProbeImage: image }, { host });
    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('succeeded');
    const report = JSON.parse(result.outputs.report ?? '{}') as ClusterHealthReport;
    expect(report.podNetwork.checked).toEqual([
      { from: 'cp1', to: 'cp2', ok: true },
      { from: 'cp2', to: 'cp3', ok: true },
      { from: 'cp3', to: 'w1', ok: true },
      { from: 'w1', to: 'cp1', ok: true },
    ]);
    const lines = host.commandLines();
    expect(lines.at(-1)).toContain('delete pods -l app.kubernetes.io/name=kubeha-pod-probe');
  });

  it("GIVEN w1's firewall rejects forwarded pod traffic WHEN verified THEN both pairs through w1 fail, naming both nodes, and the pods are still deleted", async () => {
    const host = cluster();
    expectProbe(host, {
      dial: {
        'cp3->w1': { stdout: dialRejected },
        'w1->cp1': { exitCode: 1, stderr: proxyUnreachableStderr },
      },
    });
    const result = await runStep(verifyStep, { ...params, podProbeImage: image }, { host });
    host.assertNoPendingExpectations();
    expect(result.outcome).toBe('failed');
    const report = JSON.parse(result.outputs.report ?? '{}') as ClusterHealthReport;
    expect(report.podNetwork.checked.map((c) => [c.from, c.to, c.ok])).toEqual([
      ['cp1', 'cp2', true],
      ['cp2', 'cp3', true],
      ['cp3', 'w1', false],
      ['w1', 'cp1', false],
    ]);
    expect(report.problems).toEqual([
      'pod traffic from cp3 to w1: Get "http://10.244.3.4:8080/hostname": dial tcp 10.244.3.4:8080: connect: no route to host',
      "pod traffic from w1 to cp1: the apiserver's proxy to w1's pod: Error from server (ServiceUnavailable): error trying to reach service: dial tcp 10.244.3.4:8080: connect: no route to host",
    ]);
  });

  it('GIVEN the probe pod on w1 cannot pull its image WHEN verified THEN a problem names w1 with the reason and last event, its pairs fail, the others are checked', async () => {
    const host = cluster();
    expectProbe(host, { notReady: ['w1'] });
    const result = await runStep(verifyStep, { ...params, podProbeImage: image }, { host });
    host.assertNoPendingExpectations();
    const report = JSON.parse(result.outputs.report ?? '{}') as ClusterHealthReport;
    expect(report.problems).toEqual([
      'the probe pod on w1 did not become Ready within 120 s: Pending, ErrImagePull: not found; last event Failed: Error: ErrImagePull',
      'pod traffic from cp3 to w1: no probe pod running on w1',
      'pod traffic from w1 to cp1: no probe pod running on w1',
    ]);
    expect(report.podNetwork.checked.filter((c) => c.ok)).toHaveLength(2);
  });

  it('GIVEN the probe pods cannot be created WHEN verified THEN every pair fails with why, and the delete still runs', async () => {
    const host = cluster();
    host.expect('kubectl', deleteProbes);
    host.expect('kubectl', [...admin, 'create', '-f', '-'], {
      exitCode: 1,
      stderr: 'Error from server (Forbidden): pods "kubeha-pod-probe-cp1" is forbidden: exceeded quota\n',
    });
    host.expect('kubectl', deleteProbes);
    const result = await runStep(verifyStep, { ...params, podProbeImage: image }, { host });
    host.assertNoPendingExpectations();
    const report = JSON.parse(result.outputs.report ?? '{}') as ClusterHealthReport;
    expect(report.podNetwork.checked).toHaveLength(4);
    expect(report.problems[0]).toBe(
      'creating the probe pods: Error from server (Forbidden): pods "kubeha-pod-probe-cp1" is forbidden: exceeded quota',
    );
  });

  it('GIVEN no probe image WHEN verified THEN the pod traffic check is skipped and the report says why', async () => {
    const host = cluster();
    const result = await runStep(verifyStep, params, { host });
    const report = JSON.parse(result.outputs.report ?? '{}') as ClusterHealthReport;
    expect(report.podNetwork.skipped).toMatch(/no probe image/);
    expect(host.commandLines().some((l) => l.includes('kubeha-pod-probe'))).toBe(false);
  });

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
