import { describe, expect, it } from 'vitest';
import type { NodeFacts } from '../../proto/convert.ts';
import { testSpec } from '../../test/support/test-spec.ts';
import { crossNodeChecks } from './cross-node-checks.ts';

function specWith(patch: { kubernetesVersion?: string; endpoint?: Record<string, unknown>; nodes?: unknown[] } = {}) {
  return testSpec({
    kubernetesVersion: patch.kubernetesVersion ?? '1.34.4',
    endpoint: patch.endpoint ?? { vip: '192.168.1.100', interface: 'ens192' },
    nodes: patch.nodes ?? [
      { name: 'cp1', address: '192.168.1.10', role: 'control-plane' },
      { name: 'cp2', address: '192.168.1.11', role: 'control-plane' },
      { name: 'cp3', address: '192.168.1.12', role: 'control-plane' },
      { name: 'w1', address: '192.168.1.20', role: 'worker' },
    ],
  });
}

/** Facts of a healthy, distinct host serving `address` on ens192 in 192.168.1.0/24. */
function factsFor(address: string, index: number, patch: Partial<NodeFacts> = {}): NodeFacts {
  const hex = index.toString(16).padStart(2, '0');
  return {
    hostname: `host-${index}`,
    osId: 'rocky',
    osVersionId: '9.4',
    osPrettyName: 'Rocky Linux 9.4',
    kernel: '5.14.0',
    arch: 'x86_64',
    cpuCount: 4,
    memoryBytes: 8 * 2 ** 30,
    swapBytes: 0,
    interfaces: [
      { name: 'lo', mac: '00:00:00:00:00:00', addresses: ['127.0.0.1/8'], virtual: true },
      { name: 'ens192', mac: `00:50:56:00:00:${hex}`, addresses: [`${address}/24`], virtual: false },
    ],
    productUuid: `4c4c4544-0000-0000-0000-0000000000${hex}`,
    machineId: `${hex}`.repeat(16),
    defaultRouteInterface: 'ens192',
    cgroupVersion: 2,
    ...patch,
  };
}

function healthyFacts(spec = specWith()): Map<string, NodeFacts | undefined> {
  return new Map(spec.spec.nodes.map((n, i) => [n.name, factsFor(n.address, i + 1)]));
}

describe('crossNodeChecks', () => {
  it('finds nothing on distinct, healthy nodes', () => {
    expect(crossNodeChecks(specWith(), healthyFacts())).toEqual([]);
  });

  it.each<[string, (facts: Map<string, NodeFacts | undefined>) => void, { code: string; nodes: string[] }[]]>([
    [
      'cloned VMs: same product_uuid and machine-id',
      (f) => {
        f.set('cp3', { ...f.get('cp3')!, productUuid: f.get('cp1')!.productUuid, machineId: f.get('cp1')!.machineId });
      },
      [
        { code: 'duplicate-product-uuid', nodes: ['cp1', 'cp3'] },
        { code: 'duplicate-machine-id', nodes: ['cp1', 'cp3'] },
      ],
    ],
    [
      'the same MAC on two nodes, any case',
      (f) => {
        const w1 = f.get('w1')!;
        const mac = f.get('cp2')!.interfaces[1]!.mac.toUpperCase();
        f.set('w1', { ...w1, interfaces: [w1.interfaces[0]!, { ...w1.interfaces[1]!, mac }] });
      },
      [{ code: 'duplicate-mac', nodes: ['cp2', 'w1'] }],
    ],
    [
      'a hostname shared by three nodes is a warning',
      (f) => {
        for (const n of ['cp1', 'cp2', 'w1']) f.set(n, { ...f.get(n)!, hostname: 'localhost.localdomain' });
      },
      [{ code: 'duplicate-hostname', nodes: ['cp1', 'cp2', 'w1'] }],
    ],
    [
      'a node whose agent does not report its spec address',
      (f) => {
        f.set('cp2', factsFor('192.168.1.99', 2));
      },
      [{ code: 'address-not-reported', nodes: ['cp2'] }],
    ],
    [
      'a node no agent serves',
      (f) => {
        f.set('w1', undefined);
      },
      [{ code: 'no-facts', nodes: ['w1'] }],
    ],
    [
      'a control plane without the VIP interface',
      (f) => {
        const cp3 = f.get('cp3')!;
        f.set('cp3', {
          ...cp3,
          interfaces: cp3.interfaces.map((i) => (i.name === 'ens192' ? { ...i, name: 'eth0' } : i)),
        });
      },
      [{ code: 'interface-missing', nodes: ['cp3'] }],
    ],
  ])('%s', (_name, mutate, expected) => {
    const facts = healthyFacts();
    mutate(facts);
    const findings = crossNodeChecks(specWith(), facts);
    expect(findings.map((f) => ({ code: f.code, nodes: f.nodes }))).toEqual(expected);
    for (const finding of findings) for (const node of finding.nodes) expect(finding.message).toContain(node);
  });

  it('a duplicate hostname is a warning, everything else an error', () => {
    const facts = healthyFacts();
    for (const n of ['cp1', 'cp2']) facts.set(n, { ...facts.get(n)!, hostname: 'node', productUuid: 'same' });
    const findings = crossNodeChecks(specWith(), facts);
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ['duplicate-hostname', 'warning'],
      ['duplicate-product-uuid', 'error'],
    ]);
  });

  it('ignores MACs that are not a NIC identity: loopback, virtual and locally administered', () => {
    const facts = healthyFacts();
    for (const [name, f] of facts) {
      facts.set(name, {
        ...f!,
        interfaces: [
          ...f!.interfaces,
          { name: 'cni0', mac: '0a:58:0a:f4:00:01', addresses: [], virtual: false },
          { name: 'docker0', mac: '02:42:ac:11:00:01', addresses: [], virtual: true },
          { name: 'vrrp.51', mac: '00:00:5e:00:01:33', addresses: [], virtual: true },
        ],
      });
    }
    expect(crossNodeChecks(specWith(), facts)).toEqual([]);
  });

  it('only warns about cgroup v1 when the spec allows it', () => {
    const spec = specWith({ kubernetesVersion: '1.37.2' });
    spec.spec.hostPolicy.allowCgroupV1 = true;
    const facts = healthyFacts(spec);
    facts.set('w1', { ...facts.get('w1')!, cgroupVersion: 1 });
    expect(crossNodeChecks(spec, facts).map((f) => [f.code, f.severity, f.nodes])).toEqual([
      ['cgroup-v1-unsupported', 'warning', ['w1']],
    ]);
  });

  it('reports the VIP already answering against the nodes that would hold it', () => {
    const findings = crossNodeChecks(specWith(), healthyFacts(), { vipAnswers: true });
    expect(findings).toEqual([
      expect.objectContaining({ code: 'vip-in-use', severity: 'error', nodes: ['cp1', 'cp2', 'cp3'] }),
    ]);
    expect(findings[0]!.message).toContain('192.168.1.100');
  });

  it('reports the VIP outside the subnet the holders report on the VIP interface', () => {
    const spec = specWith({ endpoint: { vip: '192.168.7.100', interface: 'ens192' } });
    expect(crossNodeChecks(spec, healthyFacts(spec))).toEqual([
      expect.objectContaining({ code: 'vip-outside-subnet', nodes: ['cp1', 'cp2', 'cp3'] }),
    ]);
  });

  it('reports each failed preflight with its reason', () => {
    const failures = new Map([
      ['w1', 'CentOS 7 cannot run Node.js 24'],
      ['cp2', 'port 6443 is in use'],
    ]);
    const findings = crossNodeChecks(specWith(), healthyFacts(), { preflightFailures: failures });
    expect(findings.map((f) => [f.code, f.nodes, f.message])).toEqual([
      ['preflight-failed', ['cp2'], 'cp2: preflight failed: port 6443 is in use'],
      ['preflight-failed', ['w1'], 'w1: preflight failed: CentOS 7 cannot run Node.js 24'],
    ]);
  });

  it('refuses Kubernetes 1.35 on a cgroup v1 host', () => {
    const spec = specWith({ kubernetesVersion: '1.35.0' });
    const facts = healthyFacts(spec);
    facts.set('w1', { ...facts.get('w1')!, cgroupVersion: 1 });
    expect(crossNodeChecks(spec, facts).map((f) => [f.code, f.nodes])).toEqual([['cgroup-v1-unsupported', ['w1']]]);
    expect(crossNodeChecks(specWith(), facts)).toEqual([]);
  });

  it('checks the interfaces of dedicated load-balancer nodes, with their own interface override', () => {
    const spec = specWith({
      nodes: [
        { name: 'cp1', address: '192.168.1.10', role: 'control-plane' },
        { name: 'lb1', address: '192.168.1.5', role: 'load-balancer', interface: 'ens224' },
        { name: 'lb2', address: '192.168.1.6', role: 'load-balancer', interface: 'ens224' },
      ],
    });
    const facts = healthyFacts(spec);
    const lb1 = facts.get('lb1')!;
    facts.set('lb1', {
      ...lb1,
      interfaces: [
        ...lb1.interfaces,
        { name: 'ens224', mac: '00:50:56:00:01:01', addresses: ['192.168.1.50/24'], virtual: false },
      ],
    });
    expect(crossNodeChecks(spec, facts).map((f) => [f.code, f.nodes])).toEqual([['interface-missing', ['lb2']]]);
  });

  it('mode external: no VIP subnet check, and the load balancer must answer', () => {
    const spec = specWith({ endpoint: { mode: 'external', vip: '10.9.9.9', port: 443 } });
    expect(crossNodeChecks(spec, healthyFacts(spec))).toEqual([]);
    expect(crossNodeChecks(spec, healthyFacts(spec), { vipAnswers: true })).toEqual([]);
    expect(crossNodeChecks(spec, healthyFacts(spec), { vipAnswers: false })).toEqual([
      {
        code: 'endpoint-unreachable',
        severity: 'error',
        message: 'the external load balancer 10.9.9.9 does not answer on port 443',
        nodes: [],
      },
    ]);
  });
});
