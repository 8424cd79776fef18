import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKubehaError } from '../../common/errors.ts';
import { snapshotIntervalMs } from './cluster-spec.ts';
import { parseClusterSpec, requireClusterSpec } from './parse-cluster-spec.ts';

const fixtures = join(import.meta.dirname, '../../test/fixtures');
const invalidDir = join(fixtures, 'specs-invalid');
const validDir = join(fixtures, 'specs-valid');

/** "spec.nodes[3].address: not an IPv4 address" -> "spec.nodes[3].address". */
function pathOf(problem: string): string {
  return problem.slice(0, problem.indexOf(': '));
}

function expectedPaths(text: string): string[] {
  return [...text.matchAll(/^# expect: (\S+)$/gm)].map((m) => m[1]!);
}

function problemsOf(input: unknown): string[] {
  const result = parseClusterSpec(input);
  if (result.ok) throw new Error('expected the spec to be refused');
  return result.problems;
}

const minimal = {
  apiVersion: 'kubeha.io/v1',
  kind: 'Cluster',
  metadata: { name: 'lab' },
  spec: {
    kubernetesVersion: '1.36.1',
    endpoint: { vip: '10.0.0.100', interface: 'eth0' },
    nodes: [{ name: 'cp1', address: '10.0.0.11', role: 'control-plane' }],
  },
};

function withSpec(patch: Record<string, unknown>) {
  return { ...minimal, spec: { ...minimal.spec, ...patch } };
}

/** A spec of one IPv6 control plane at `cpAddress` behind `vip`, with IPv6 pod and service networks. */
function ipv6Spec(vip: string, cpAddress: string) {
  return withSpec({
    endpoint: { vip, interface: 'eth0' },
    networking: { podCIDR: 'fd00:244::/56', serviceCIDR: 'fd00:96::/108' },
    nodes: [{ name: 'cp1', address: cpAddress, role: 'control-plane' }],
  });
}

describe('parseClusterSpec: invalid fixtures', () => {
  const files = readdirSync(invalidDir).filter((f) => f.endsWith('.yaml'));

  it('has at least 30 invalid specs', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
  });

  it.each(files)('%s is refused with exactly the expected field paths', (file) => {
    // GIVEN a spec whose header comment names the paths of its problems
    const text = readFileSync(join(invalidDir, file), 'utf8');
    const expected = expectedPaths(text);
    expect(expected.length, 'the fixture names at least one "# expect: PATH"').toBeGreaterThan(0);
    // WHEN it is parsed
    const problems = problemsOf(text);
    // THEN every problem is at an expected path, and every expected path has a problem
    expect([...new Set(problems.map(pathOf))].sort()).toEqual([...new Set(expected)].sort());
    for (const problem of problems) expect(problem).toMatch(/^\S+: \S/);
  });
});

describe('parseClusterSpec: valid specs', () => {
  const files = readdirSync(validDir).filter((f) => f.endsWith('.yaml') || f.endsWith('.json'));

  it.each(files)('%s is accepted', (file) => {
    const result = parseClusterSpec(readFileSync(join(validDir, file), 'utf8'));
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('reads an air-gapped spec with every mirror as written', () => {
    const spec = requireClusterSpec(readFileSync(join(validDir, 'air-gapped-mirrors.yaml'), 'utf8'));
    expect(spec.spec.mirrors).toEqual({
      kubernetesPackages: {
        baseUrl: 'https://mirror.example.com/k8s/v1.31/rpm/',
        gpgKeyUrl: 'https://mirror.example.com/k8s/v1.31/rpm/repodata/repomd.xml.key',
      },
      containerRuntimePackages: { baseUrl: 'https://mirror.example.com/docker-ce/centos', gpgKeyUrl: 'none' },
      imageRepository: 'registry.example.com:5000/k8s',
      registries: [
        { registry: 'docker.io', endpoints: ['https://registry.example.com:5000'] },
        { registry: 'ghcr.io', endpoints: ['https://registry.example.com:5000'] },
      ],
    });
    // Without mirrors the spec has none (and the planner uses the public repositories).
    expect(
      requireClusterSpec(readFileSync(join(validDir, 'design-example.yaml'), 'utf8')).spec.mirrors,
    ).toBeUndefined();
  });

  it('reads the design example (3 control planes, 2 workers) with its values', () => {
    const spec = requireClusterSpec(readFileSync(join(validDir, 'design-example.yaml'), 'utf8'));
    expect(spec.metadata.name).toBe('prod-a');
    expect(spec.spec.endpoint).toEqual({
      mode: 'haproxy-keepalived',
      vip: '10.152.0.6',
      port: 16443,
      interface: 'ens224',
      virtualRouterId: 51,
      multicast: false,
    });
    expect(spec.spec.nodes.map((n) => `${n.name}=${n.address}:${n.role}`)).toEqual([
      'k8s-master1=192.168.1.10:control-plane',
      'k8s-master2=192.168.1.11:control-plane',
      'k8s-master3=192.168.1.12:control-plane',
      'k8s-worker1=192.168.1.20:worker',
      'k8s-worker2=192.168.1.21:worker',
    ]);
  });

  it('reads spec.certificates with its defaults, leaves it out when absent, and refuses a renewal window of 0 days', () => {
    expect(requireClusterSpec(minimal).spec.certificates).toBeUndefined();
    expect(requireClusterSpec(withSpec({ certificates: {} })).spec.certificates).toEqual({
      renewBeforeDays: 30,
      autoRenew: true,
    });
    expect(
      requireClusterSpec(withSpec({ certificates: { renewBeforeDays: 60, autoRenew: false } })).spec.certificates,
    ).toEqual({ renewBeforeDays: 60, autoRenew: false });
    expect(problemsOf(withSpec({ certificates: { renewBeforeDays: 0, rotateCa: true } }))).toEqual([
      'spec.certificates.rotateCa: unknown field',
      'spec.certificates.renewBeforeDays: must be between 1 and 300, got 0',
    ]);
  });

  it('accepts JSON text and a parsed object alike', () => {
    const fromJson = parseClusterSpec(JSON.stringify(minimal));
    const fromObject = parseClusterSpec(minimal);
    expect(fromJson).toEqual(fromObject);
    expect(fromObject.ok).toBe(true);
  });
});

describe('parseClusterSpec: documents that are not YAML', () => {
  // Kept inline, not as fixtures: the linter parses every .yaml file of the tree.
  it.each([
    ['an unclosed flow mapping', 'apiVersion: kubeha.io/v1\nmetadata: { name: a\nspec: {}\n', /line 3, column 1/],
    [
      'a key given twice',
      'apiVersion: kubeha.io/v1\nkind: Cluster\nkind: Cluster\n',
      /Map keys must be unique at line 3/,
    ],
  ])('refuses %s with the line', (_what, text, where) => {
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) expect(problem).toMatch(/^\(document\): not valid YAML or JSON: /);
    expect(problems.join('\n')).toMatch(where);
  });

  it('refuses unterminated JSON', () => {
    expect([...new Set(problemsOf('{"apiVersion": "kubeha.io/v1", "kind": ').map(pathOf))]).toEqual(['(document)']);
  });
});

describe('parseClusterSpec: defaults', () => {
  it('fills every default of a minimal spec', () => {
    const spec = requireClusterSpec(minimal);
    expect(spec.spec).toEqual({
      kubernetesVersion: '1.36.1',
      endpoint: {
        mode: 'haproxy-keepalived',
        vip: '10.0.0.100',
        port: 16443,
        interface: 'eth0',
        virtualRouterId: 51,
        multicast: false,
      },
      networking: { podCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', cni: 'flannel' },
      hostPolicy: { firewall: 'managed', selinux: 'permissive', allowErasing: false, allowCgroupV1: false },
      concurrency: { workers: 10 },
      allowEvenControlPlanes: false,
      nodes: [{ name: 'cp1', address: '10.0.0.11', role: 'control-plane' }],
    });
  });

  it.each([
    ['haproxy-keepalived', 16443],
    ['keepalived', 6443],
    ['external', 16443],
  ])('mode %s defaults the port to %i', (mode, port) => {
    const endpoint = mode === 'external' ? { mode, vip: '10.0.0.100' } : { mode, vip: '10.0.0.100', interface: 'eth0' };
    expect(requireClusterSpec(withSpec({ endpoint })).spec.endpoint.port).toBe(port);
  });

  it('checks pod traffic unless networking.checkPodTraffic is false, and refuses a non-boolean', () => {
    expect(requireClusterSpec(minimal).spec.networking.checkPodTraffic).toBeUndefined();
    expect(requireClusterSpec(withSpec({ networking: { checkPodTraffic: true } })).spec.networking).not.toHaveProperty(
      'checkPodTraffic',
    );
    expect(
      requireClusterSpec(withSpec({ networking: { checkPodTraffic: false } })).spec.networking.checkPodTraffic,
    ).toBe(false);
    expect(problemsOf(withSpec({ networking: { checkPodTraffic: 'no' } })).map(pathOf)).toEqual([
      'spec.networking.checkPodTraffic',
    ]);
  });

  it('mode external needs no interface and leaves it empty', () => {
    const spec = requireClusterSpec(withSpec({ endpoint: { mode: 'external', vip: '10.9.9.9', port: 6443 } }));
    expect(spec.spec.endpoint).toMatchObject({ mode: 'external', interface: '', port: 6443 });
  });
});

describe('parseClusterSpec: addresses and subnets', () => {
  it('splits a CIDR node address into the address and its prefix', () => {
    const spec = requireClusterSpec(
      withSpec({ nodes: [{ name: 'cp1', address: '10.0.0.11/24', role: 'control-plane', interface: 'ens224' }] }),
    );
    expect(spec.spec.nodes[0]).toEqual({
      name: 'cp1',
      address: '10.0.0.11',
      prefixLength: 24,
      role: 'control-plane',
      interface: 'ens224',
    });
  });

  it('keeps the VIP prefix when the VIP is written as CIDR', () => {
    const spec = requireClusterSpec(withSpec({ endpoint: { vip: '10.0.0.100/24', interface: 'eth0' } }));
    expect(spec.spec.endpoint.vip).toBe('10.0.0.100');
    expect(spec.spec.endpoint.vipPrefixLength).toBe(24);
  });

  it('writes IPv6 addresses in their canonical form', () => {
    const spec = requireClusterSpec(ipv6Spec('FD00:10:0:0::100', 'fd00:10:0:0:0:0:0:11/64'));
    expect(spec.spec.endpoint.vip).toBe('fd00:10::100');
    expect(spec.spec.nodes[0]).toMatchObject({ address: 'fd00:10::11', prefixLength: 64 });
  });

  it('accepts IPv6 nodes, VIP and networks', () => {
    const result = parseClusterSpec(ipv6Spec('fd00:10::100', 'fd00:10::11/64'));
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('refuses an IPv6 VIP outside the control planes\u2019 /64', () => {
    const problems = problemsOf(ipv6Spec('fd00:11::100', 'fd00:10::11/64'));
    expect(problems).toEqual([
      expect.stringMatching(
        /^spec\.endpoint\.vip: fd00:11::100 is outside the subnet fd00:10::\/64 of spec\.nodes\[0\];/,
      ),
    ]);
  });

  it('does not ask a node whose VIP sits on another interface to share the VIP subnet', () => {
    const nodes = [
      { name: 'cp1', address: '192.168.1.10/24', role: 'control-plane' },
      { name: 'lb1', address: '192.168.1.5/24', role: 'load-balancer', interface: 'ens224' },
      { name: 'lb2', address: '192.168.1.6/24', role: 'load-balancer', interface: 'ens224' },
    ];
    const result = parseClusterSpec(withSpec({ endpoint: { vip: '10.152.0.6', interface: 'ens192' }, nodes }));
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('checks the VIP against the load-balancer nodes, not the control planes, when there are any', () => {
    const nodes = [
      { name: 'cp1', address: '192.168.2.10/24', role: 'control-plane' },
      { name: 'lb1', address: '192.168.1.5/24', role: 'load-balancer' },
      { name: 'lb2', address: '192.168.1.6/24', role: 'load-balancer' },
    ];
    expect(parseClusterSpec(withSpec({ endpoint: { vip: '192.168.1.100', interface: 'eth0' }, nodes })).ok).toBe(true);
    expect(problemsOf(withSpec({ endpoint: { vip: '192.168.2.100', interface: 'eth0' }, nodes }))).toEqual([
      expect.stringMatching(
        /^spec\.endpoint\.vip: 192\.168\.2\.100 is outside the subnet 192\.168\.1\.0\/24 of spec\.nodes\[1\], spec\.nodes\[2\];/,
      ),
    ]);
  });

  it('refuses HAProxy on 6443 also on dedicated load-balancer nodes', () => {
    const nodes = [
      { name: 'cp1', address: '10.0.0.11', role: 'control-plane' },
      { name: 'lb1', address: '10.0.0.5', role: 'load-balancer' },
      { name: 'lb2', address: '10.0.0.6', role: 'load-balancer' },
    ];
    const problems = problemsOf(withSpec({ endpoint: { vip: '10.0.0.100', interface: 'eth0', port: 6443 }, nodes }));
    expect(problems.map(pathOf)).toEqual(['spec.endpoint.port']);
  });
});

describe('parseClusterSpec: control planes', () => {
  const controlPlanes = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      name: `cp${i + 1}`,
      address: `10.0.0.${11 + i}`,
      role: 'control-plane',
    }));

  it.each([
    [1, false, true],
    [2, false, false],
    [2, true, true],
    [3, false, true],
    [4, false, false],
    [4, true, true],
    [5, false, true],
  ])('%i control planes with allowEvenControlPlanes=%s: accepted=%s', (count, allowEven, accepted) => {
    const result = parseClusterSpec(withSpec({ nodes: controlPlanes(count), allowEvenControlPlanes: allowEven }));
    expect(result.ok).toBe(accepted);
    if (!result.ok) expect(result.problems).toEqual([expect.stringMatching(/^spec\.nodes: \d control planes/)]);
  });
});

describe('requireClusterSpec', () => {
  it('throws KubehaError(specInvalid) with every problem as details', () => {
    let caught: unknown;
    try {
      requireClusterSpec(withSpec({ kubernetesVersion: '1.2', concurrency: { workers: 0 } }));
    } catch (error) {
      caught = error;
    }
    expect(isKubehaError(caught, 'KUBEHA_SPEC_INVALID')).toBe(true);
    expect((caught as { details: string[] }).details.map(pathOf)).toEqual([
      'spec.kubernetesVersion',
      'spec.concurrency.workers',
    ]);
  });
});

describe('parseClusterSpec on hostile documents', () => {
  it('GIVEN a YAML alias bomb THEN a problem, not an exception', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const result = parseClusterSpec(`${levels.join('\n')}\n`);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toEqual([
      expect.stringMatching(/^\(document\): not a usable YAML document/),
    ]);
  });
});

describe('spec.networking.cniManifest', () => {
  const sha = 'a'.repeat(64);
  it('GIVEN an https URL and a sha256 THEN both reach the spec; http:// needs allowHttp; a bad pin is named', () => {
    const ok = parseClusterSpec(
      withSpec({ networking: { cniManifest: { url: 'https://m.example/f.yml', sha256: sha } } }),
    );
    expect(ok.ok && ok.spec.spec.networking.cniManifest).toEqual({
      url: 'https://m.example/f.yml',
      sha256: sha,
      allowHttp: false,
    });
    expect(problemsOf(withSpec({ networking: { cniManifest: { url: 'http://m.example/f.yml' } } }))).toEqual([
      expect.stringMatching(/^spec\.networking\.cniManifest\.url: http:\/\/ downloads can be altered/),
    ]);
    expect(
      parseClusterSpec(withSpec({ networking: { cniManifest: { url: 'http://m.example/f.yml', allowHttp: true } } }))
        .ok,
    ).toBe(true);
    expect(problemsOf(withSpec({ networking: { cniManifest: { sha256: 'ABC' } } })).map(pathOf)).toEqual([
      'spec.networking.cniManifest.sha256',
    ]);
  });
});

describe('parseClusterSpec: where the schema finds the problem', () => {
  it('GIVEN a node that is not a mapping THEN it is named, not a failure to read the document', () => {
    const nodes = [null, { name: 'cp1', address: '10.0.0.11', role: 'control-plane' }];
    expect(problemsOf(withSpec({ nodes }))).toEqual(['spec.nodes[0]: must be an object']);
  });

  it('GIVEN an unknown top-level field THEN its path is its name, like apiVersion and kind', () => {
    expect(problemsOf({ ...minimal, status: {} })).toEqual(['status: unknown field']);
  });

  it('GIVEN fields of the wrong type THEN each says what it must be and what it got, never in JSON Schema terms', () => {
    const problems = problemsOf(
      withSpec({
        endpoint: { vip: '10.0.0.100', interface: 'eth0', port: 'x', mode: 'vrrp', multicast: 'yes' },
        networking: { cni: 5 },
      }),
    );
    expect(problems).toEqual([
      'spec.endpoint.mode: "vrrp" is not one of haproxy-keepalived, keepalived, external',
      'spec.endpoint.port: must be an integer, got "x"',
      'spec.endpoint.multicast: must be true or false, got "yes"',
      'spec.networking.cni: must be a string, got number 5',
    ]);
  });
});

describe('spec.etcd.snapshots', () => {
  it('GIVEN an interval without keep THEN 14 are kept; absent THEN no schedule', () => {
    const spec = requireClusterSpec(withSpec({ etcd: { snapshots: { every: '6h' } } }));
    expect(spec.spec.etcd).toEqual({ snapshots: { every: '6h', keep: 14 } });
    expect(snapshotIntervalMs(spec.spec.etcd!.snapshots!.every)).toBe(6 * 3_600_000);
    expect(snapshotIntervalMs('30m')).toBe(1_800_000);
    expect(requireClusterSpec(minimal).spec.etcd).toBeUndefined();
  });

  it('GIVEN an interval in seconds or an unknown field THEN each is named at its path', () => {
    expect(problemsOf(withSpec({ etcd: { snapshots: { every: '90s', keep: 3 } } }))).toEqual([
      'spec.etcd.snapshots.every: "90s" is not an interval such as "30m", "6h" or "1d"',
    ]);
    expect(problemsOf(withSpec({ etcd: { backups: {} } })).map(pathOf)).toEqual(['spec.etcd.backups']);
  });
});
