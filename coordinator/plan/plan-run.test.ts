import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testSpec } from '../../test/support/test-spec.ts';
import type { EndpointMode } from '../cluster-spec/cluster-spec.ts';
import { requireClusterSpec } from '../cluster-spec/parse-cluster-spec.ts';
import { topologicalOrder } from './critical-path.ts';
import { planRun, transientRetry, workerJoinGroup } from './plan-run.ts';
import { coordinatorNode, type PlannedStep, type RunPlan } from './run-plan.ts';

interface Shape {
  controlPlanes: number;
  workers: number;
  loadBalancers?: number;
  mode?: EndpointMode;
  concurrency?: number;
  allowEven?: boolean;
}

function specOf(shape: Shape) {
  const nodes = [
    ...Array.from({ length: shape.controlPlanes }, (_, i) => ({
      name: `cp${i + 1}`,
      address: `10.0.0.${11 + i}/24`,
      role: 'control-plane',
    })),
    ...Array.from({ length: shape.workers }, (_, i) => ({
      name: `w${i + 1}`,
      address: `10.0.${1 + Math.floor(i / 200)}.${(i % 200) + 20}/24`,
      role: 'worker',
    })),
    ...Array.from({ length: shape.loadBalancers ?? 0 }, (_, i) => ({
      name: `lb${i + 1}`,
      address: `10.0.0.${5 + i}/24`,
      role: 'load-balancer',
    })),
  ];
  const mode = shape.mode ?? 'haproxy-keepalived';
  return testSpec({
    endpoint:
      mode === 'external' ? { mode, vip: '10.9.0.1', port: 6443 } : { mode, vip: '10.0.0.100', interface: 'eth0' },
    networking: { podCIDR: '10.244.0.0/14' },
    concurrency: { workers: shape.concurrency ?? 10 },
    allowEvenControlPlanes: shape.allowEven ?? false,
    nodes,
  });
}

/** Every step id that `id` waits for, directly or not. */
function ancestorsOf(plan: RunPlan, id: string): Set<string> {
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const stack = [...byId.get(id)!.dependsOn];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...byId.get(next)!.dependsOn);
  }
  return seen;
}

function idsOf(plan: RunPlan, phase: string): string[] {
  return plan.steps.filter((s) => s.phase === phase).map((s) => s.id);
}

function step(plan: RunPlan, id: string): PlannedStep {
  const found = plan.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id}`);
  return found;
}

/** The invariants every deploy plan keeps, whatever its shape: the order of docs/cluster-spec.md's deploy. */
function expectDeployInvariants(plan: RunPlan, shape: Shape): void {
  const ids = plan.steps.map((s) => s.id);
  expect(new Set(ids).size, 'ids are unique').toBe(ids.length);
  expect(topologicalOrder(plan)).toHaveLength(plan.steps.length);

  const preflights = idsOf(plan, 'preflight');
  const checks = step(plan, 'cross-node-checks');
  expect(checks).toMatchObject({ kind: 'cross-node-checks', runsOn: 'coordinator', node: coordinatorNode });
  expect([...checks.dependsOn].sort()).toEqual([...preflights].sort());

  for (const hostPrep of plan.steps.filter((s) => s.phase === 'host-prep')) {
    const ancestors = ancestorsOf(plan, hostPrep.id);
    expect(ancestors.has('cross-node-checks'), `${hostPrep.id} waits for the checks`).toBe(true);
    // Nothing of another node but the preflights (through the checks gate): prep chains do not wait for each other.
    for (const a of ancestors) {
      if (a === 'cross-node-checks') continue;
      expect(a.startsWith('preflight/'), `${hostPrep.id} waits only for preflights, not ${a}`).toBe(true);
    }
  }
  for (const s of plan.steps.filter((x) => ['container-runtime', 'kube-packages'].includes(x.phase))) {
    for (const a of ancestorsOf(plan, s.id)) {
      expect(
        a === 'cross-node-checks' || a.startsWith('preflight/') || a.endsWith(`/${s.node}`),
        `${s.id} <- ${a}`,
      ).toBe(true);
    }
  }

  const init = plan.steps.filter((s) => s.phase === 'kubeadm-init');
  expect(init.map((s) => s.id)).toEqual(['kubeadm-init/cp1']);
  const initAncestors = ancestorsOf(plan, 'kubeadm-init/cp1');
  for (const lb of idsOf(plan, 'load-balancer')) expect(initAncestors.has(lb), `init after ${lb}`).toBe(true);
  expect(step(plan, 'cni/cp1').dependsOn).toEqual(['kubeadm-init/cp1']);

  const cpJoins = idsOf(plan, 'join-control-plane');
  expect(cpJoins).toEqual(Array.from({ length: shape.controlPlanes - 1 }, (_, i) => `join-control-plane/cp${i + 2}`));
  cpJoins.forEach((id, i) => {
    const ancestors = ancestorsOf(plan, id);
    expect(ancestors.has('cni/cp1')).toBe(true);
    if (i > 0) expect(step(plan, id).dependsOn).toContain(cpJoins[i - 1]);
    expect(step(plan, id)).toMatchObject({ kind: 'kubeadm-join', params: { controlPlane: true } });
    expect(step(plan, id).concurrencyGroup).toBeUndefined();
  });

  const workerJoins = plan.steps.filter((s) => s.phase === 'join-worker');
  expect(workerJoins).toHaveLength(shape.workers);
  for (const join of workerJoins) {
    const ancestors = ancestorsOf(plan, join.id);
    expect(ancestors.has('kubeadm-init/cp1')).toBe(true);
    expect(ancestors.has(`kube-packages/${join.node}`)).toBe(true);
    expect([...ancestors].some((a) => a.startsWith('join-'))).toBe(false);
    expect(join).toMatchObject({
      kind: 'kubeadm-join',
      params: { controlPlane: false, nodeName: join.node },
      concurrencyGroup: { name: workerJoinGroup, limit: shape.concurrency ?? 10 },
    });
  }

  const verifyAncestors = ancestorsOf(plan, 'verify/cp1');
  for (const join of [...cpJoins, ...workerJoins.map((j) => j.id)]) expect(verifyAncestors.has(join)).toBe(true);
  expect(verifyAncestors.has('cni/cp1')).toBe(true);
  const sinks = plan.steps.filter((s) => !plan.steps.some((o) => o.dependsOn.includes(s.id)));
  expect(sinks.map((s) => s.id)).toEqual(['verify/cp1']);

  for (const s of plan.steps) {
    expect(s.id).toBe(s.runsOn === 'coordinator' ? s.phase : `${s.phase}/${s.node}`);
    expect(s.retry.maxAttempts).toBe(
      ['preflight', 'cross-node-checks'].includes(s.phase) ? 1 : transientRetry.maxAttempts,
    );
    expect(s.timeoutSeconds).toBeGreaterThan(0);
    expect(JSON.stringify(s.params)).not.toMatch(/token"|certificateKey|authPass/i);
  }
}

describe('planRun deploy: the DAG shape', () => {
  it.each<[string, Shape, Record<string, number>]>([
    [
      '3 control planes + 2 workers',
      { controlPlanes: 3, workers: 2 },
      {
        preflight: 5,
        'host-prep': 5,
        'container-runtime': 5,
        'kube-packages': 5,
        'load-balancer': 3,
        'join-control-plane': 2,
        'join-worker': 2,
      },
    ],
    [
      '1 control plane',
      { controlPlanes: 1, workers: 0 },
      { preflight: 1, 'load-balancer': 1, 'join-control-plane': 0, 'join-worker': 0 },
    ],
    [
      '5 control planes + 3 workers',
      { controlPlanes: 5, workers: 3 },
      { preflight: 8, 'load-balancer': 5, 'join-control-plane': 4, 'join-worker': 3 },
    ],
    [
      '3 control planes + 2 workers behind 2 dedicated load-balancer nodes',
      { controlPlanes: 3, workers: 2, loadBalancers: 2 },
      { preflight: 7, 'host-prep': 7, 'container-runtime': 5, 'kube-packages': 5, 'load-balancer': 2 },
    ],
    [
      'mode keepalived',
      { controlPlanes: 3, workers: 2, mode: 'keepalived' },
      { preflight: 5, 'load-balancer': 3, 'join-control-plane': 2 },
    ],
    [
      'mode external',
      { controlPlanes: 3, workers: 2, mode: 'external' },
      { 'load-balancer': 0, 'join-control-plane': 2 },
    ],
    ['4 control planes (allowed even)', { controlPlanes: 4, workers: 1, allowEven: true }, { 'join-control-plane': 3 }],
    ['200 workers, 7 at a time', { controlPlanes: 3, workers: 200, concurrency: 7 }, { 'join-worker': 200 }],
  ])('%s', (_name, shape, counts) => {
    const plan = planRun('deploy', specOf(shape));
    expect(plan).toMatchObject({ kind: 'deploy', cluster: 'lab' });
    expectDeployInvariants(plan, shape);
    for (const [phase, count] of Object.entries(counts)) expect(idsOf(plan, phase), phase).toHaveLength(count);
    expect(idsOf(plan, 'cross-node-checks')).toHaveLength(1);
    expect(idsOf(plan, 'cni')).toHaveLength(1);
    expect(idsOf(plan, 'verify')).toHaveLength(1);
  });

  it('3 control planes + 2 workers: the exact edges', () => {
    const plan = planRun('deploy', specOf({ controlPlanes: 3, workers: 2 }));
    const edges = Object.fromEntries(plan.steps.map((s) => [s.id, s.dependsOn]));
    expect(edges).toMatchObject({
      'preflight/cp1': [],
      'host-prep/cp1': ['preflight/cp1', 'cross-node-checks'],
      'container-runtime/cp1': ['host-prep/cp1'],
      'kube-packages/cp1': ['container-runtime/cp1'],
      'load-balancer/cp2': ['kube-packages/cp2'],
      'kubeadm-init/cp1': ['load-balancer/cp1', 'load-balancer/cp2', 'load-balancer/cp3'],
      'cni/cp1': ['kubeadm-init/cp1'],
      'join-control-plane/cp2': ['cni/cp1', 'load-balancer/cp2'],
      'join-control-plane/cp3': ['join-control-plane/cp2', 'load-balancer/cp3'],
      'join-worker/w1': ['kubeadm-init/cp1', 'kube-packages/w1'],
      'verify/cp1': ['cni/cp1', 'join-control-plane/cp2', 'join-control-plane/cp3', 'join-worker/w1', 'join-worker/w2'],
    });
  });

  it('dedicated load-balancer nodes only prepare the host, then run the load balancer; init waits for them', () => {
    const plan = planRun('deploy', specOf({ controlPlanes: 3, workers: 0, loadBalancers: 2 }));
    expect(plan.steps.filter((s) => s.node === 'lb1').map((s) => s.id)).toEqual([
      'preflight/lb1',
      'host-prep/lb1',
      'load-balancer/lb1',
    ]);
    expect(step(plan, 'load-balancer/lb1').dependsOn).toEqual(['host-prep/lb1']);
    expect(step(plan, 'kubeadm-init/cp1').dependsOn).toEqual([
      'kube-packages/cp1',
      'load-balancer/lb1',
      'load-balancer/lb2',
    ]);
    expect(step(plan, 'join-control-plane/cp2').dependsOn).toEqual(['cni/cp1', 'kube-packages/cp2']);
    expect(step(plan, 'load-balancer/lb2').params).toMatchObject({
      unicastSrcIp: '10.0.0.6',
      unicastPeers: ['10.0.0.5'],
      backends: [
        { name: 'cp1', address: '10.0.0.11', role: 'control-plane' },
        { name: 'cp2', address: '10.0.0.12', role: 'control-plane' },
        { name: 'cp3', address: '10.0.0.13', role: 'control-plane' },
      ],
    });
  });
});

describe('planRun deploy: step parameters', () => {
  const plan = planRun('deploy', specOf({ controlPlanes: 3, workers: 1 }));

  it('gives the init node the highest VRRP priority and distinct priorities to all', () => {
    const priorities = idsOf(plan, 'load-balancer').map((id) => step(plan, id).params.priority as number);
    expect(priorities[0]).toBe(Math.max(...priorities));
    expect(new Set(priorities).size).toBe(priorities.length);
  });

  it('fills the load balancer from the spec, with unicast peers and the VIP prefix from the control planes', () => {
    expect(step(plan, 'load-balancer/cp1').params).toEqual({
      mode: 'haproxy-keepalived',
      vip: '10.0.0.100',
      vipPrefixLength: 24,
      interface: 'eth0',
      virtualRouterId: 51,
      priority: 220,
      multicast: false,
      unicastSrcIp: '10.0.0.11',
      unicastPeers: ['10.0.0.12', '10.0.0.13'],
      lbPort: 16443,
      backends: [
        { name: 'cp1', address: '10.0.0.11', role: 'control-plane' },
        { name: 'cp2', address: '10.0.0.12', role: 'control-plane' },
        { name: 'cp3', address: '10.0.0.13', role: 'control-plane' },
      ],
      checkIntervalS: 1,
      checkFall: 2,
      checkRise: 2,
      checkWeight: 0,
      advertIntS: 1,
      nodeName: 'cp1',
    });
  });

  it('gives a lone VIP holder multicast adverts, since unicast VRRP has no peer to send to', () => {
    const single = planRun('deploy', specOf({ controlPlanes: 1, workers: 1, mode: 'keepalived' }));
    expect(step(single, 'load-balancer/cp1').params).toMatchObject({
      multicast: true,
      unicastSrcIp: '',
      unicastPeers: [],
    });
  });

  it('points init and joins at VIP:PORT and each node at its own address', () => {
    expect(step(plan, 'kubeadm-init/cp1').params).toMatchObject({
      controlPlaneEndpoint: '10.0.0.100:16443',
      advertiseAddress: '10.0.0.11',
      nodeName: 'cp1',
      podSubnet: '10.244.0.0/14',
      serviceSubnet: '10.96.0.0/12',
      kubernetesVersion: '1.34.4',
    });
    expect(step(plan, 'join-control-plane/cp3').params).toMatchObject({
      controlPlaneEndpoint: '10.0.0.100:16443',
      advertiseAddress: '10.0.0.13',
      nodeName: 'cp3',
      controlPlane: true,
    });
  });

  it('tells preflight and host-prep which nodes run HAProxy', () => {
    expect(step(plan, 'preflight/cp2').params).toEqual({
      role: 'control-plane',
      kubernetesVersion: '1.34.4',
      lbPort: 16443,
      alreadyMember: false,
      allowCgroupV1: false,
      allowErasing: false,
    });
    expect(step(plan, 'preflight/w1').params).toMatchObject({ role: 'worker', lbPort: 0 });
    expect(step(plan, 'host-prep/w1').params).toMatchObject({ hostname: 'w1', lbPort: 0, firewall: 'managed' });
  });

  it("names in a worker's /etc/hosts block itself and the endpoint's machines; those machines name every node", () => {
    const wide = planRun('deploy', specOf({ controlPlanes: 3, workers: 2, loadBalancers: 2 }));
    const names = (id: string) => (step(wide, id).params.nodes as { name: string }[]).map((n) => n.name);
    const everyNode = ['cp1', 'cp2', 'cp3', 'w1', 'w2', 'lb1', 'lb2'];
    expect(names('host-prep/w1')).toEqual(['cp1', 'cp2', 'cp3', 'w1', 'lb1', 'lb2']);
    expect(names('host-prep/w2')).toEqual(['cp1', 'cp2', 'cp3', 'w2', 'lb1', 'lb2']);
    expect(names('host-prep/cp2')).toEqual(everyNode);
    expect(names('host-prep/lb1')).toEqual(everyNode);
  });

  it('pins the package repository to the minor version', () => {
    expect(step(plan, 'kube-packages/w1').params).toEqual({
      kubernetesVersion: '1.34.4',
      repoBaseUrl: 'https://pkgs.k8s.io/core:/stable:/v1.34/rpm/',
    });
  });

  it('GIVEN mirrors in the spec THEN every package repository, registry and image repository comes from them', () => {
    const spec = specOf({ controlPlanes: 1, workers: 1 });
    spec.spec.mirrors = {
      kubernetesPackages: { baseUrl: 'https://mirror.lab/k8s/v1.31/rpm/', gpgKeyUrl: 'none' },
      containerRuntimePackages: { baseUrl: 'https://mirror.lab/docker-ce/centos', gpgKeyUrl: 'https://mirror.lab/gpg' },
      imageRepository: 'registry.lab:5000/k8s',
      registries: [{ registry: 'docker.io', endpoints: ['https://registry.lab:5000'] }],
    };
    const mirrored = planRun('deploy', spec);
    expect(step(mirrored, 'kube-packages/w1').params).toMatchObject({
      repoBaseUrl: 'https://mirror.lab/k8s/v1.31/rpm/',
      gpgKeyUrl: 'none',
    });
    expect(step(mirrored, 'container-runtime/w1').params).toMatchObject({
      repoBaseUrl: 'https://mirror.lab/docker-ce/centos',
      gpgKeyUrl: 'https://mirror.lab/gpg',
      imageRepository: 'registry.lab:5000/k8s',
      mirrors: [{ registry: 'docker.io', endpoints: ['https://registry.lab:5000'] }],
    });
    expect(step(mirrored, 'kubeadm-init/cp1').params['imageRepository']).toBe('registry.lab:5000/k8s');
    const urls = JSON.stringify(mirrored.steps.map((s) => s.params));
    expect(urls).not.toContain('pkgs.k8s.io');
    expect(urls).not.toContain('download.docker.com');
  });

  it('mode keepalived: no HAProxy port, the endpoint on 6443', () => {
    const keepalived = planRun('deploy', specOf({ controlPlanes: 3, workers: 0, mode: 'keepalived' }));
    expect(step(keepalived, 'preflight/cp1').params.lbPort).toBe(0);
    expect(step(keepalived, 'load-balancer/cp1').params).toMatchObject({ mode: 'keepalived', lbPort: 6443 });
    expect(step(keepalived, 'kubeadm-init/cp1').params.controlPlaneEndpoint).toBe('10.0.0.100:6443');
  });

  it('brackets an IPv6 endpoint', () => {
    const spec = testSpec(
      {
        kubernetesVersion: '1.36.0',
        endpoint: { vip: 'fd00::100', interface: 'eth0' },
        networking: { podCIDR: 'fd00:244::/56', serviceCIDR: 'fd00:96::/108' },
        nodes: [{ name: 'cp1', address: 'fd00::11/64', role: 'control-plane' }],
      },
      'v6',
    );
    const v6 = planRun('deploy', spec);
    expect(step(v6, 'kubeadm-init/cp1').params.controlPlaneEndpoint).toBe('[fd00::100]:16443');
    expect(step(v6, 'load-balancer/cp1').params.vipPrefixLength).toBe(64);
  });

  it('is deterministic: the same spec gives the same plan', () => {
    const spec = specOf({ controlPlanes: 3, workers: 4 });
    expect(planRun('deploy', spec)).toEqual(planRun('deploy', spec));
  });
});

describe('planRun: the other kinds', () => {
  const spec = specOf({ controlPlanes: 3, workers: 2, loadBalancers: 2 });

  it("verify: one verify step on the first control plane, and beside it the coordinator's check of every node's agent", () => {
    const plan = planRun('verify', spec);
    expect(plan.steps).toHaveLength(2);
    expect(plan.steps[1]).toMatchObject({
      id: 'agents-connected',
      kind: 'agents-connected',
      runsOn: 'coordinator',
      node: coordinatorNode,
      dependsOn: [],
      retry: { maxAttempts: 1 },
      params: { nodes: spec.spec.nodes.map((n) => n.name) },
    });
    expect(plan.steps[0]).toMatchObject({
      id: 'verify/cp1',
      kind: 'verify',
      runsOn: 'agent',
      dependsOn: [],
      params: { controlPlaneEndpoint: '10.0.0.100:16443' },
    });
    expect((plan.steps[0]!.params.nodes as unknown[]).length).toBe(7);
    expect(plan.steps[0]!.params.podProbeImage).toBe('registry.k8s.io/e2e-test-images/agnhost:2.56');
  });

  it("verify: the probe image from the spec's imageRepository mirror, and none when the spec turns the check off", () => {
    const mirrored = structuredClone(spec);
    mirrored.spec.mirrors = { imageRepository: 'registry.example.com:5000/k8s', registries: [] };
    expect(planRun('verify', mirrored).steps[0]!.params.podProbeImage).toBe(
      'registry.example.com:5000/k8s/e2e-test-images/agnhost:2.56',
    );
    const off = structuredClone(spec);
    off.spec.networking.checkPodTraffic = false;
    expect(planRun('verify', off).steps[0]!.params.podProbeImage).toBe('');
    expect(planRun('deploy', off).steps.find((s) => s.kind === 'verify')!.params.podProbeImage).toBe('');
  });

  it('drill-failover: one coordinator-side step over the VIP holders', () => {
    const plan = planRun('drill-failover', spec);
    expect(plan.steps).toEqual([
      expect.objectContaining({
        id: 'failover-drill',
        kind: 'failover-drill',
        runsOn: 'coordinator',
        node: coordinatorNode,
        dependsOn: [],
        params: {
          controlPlaneEndpoint: '10.0.0.100:16443',
          mode: 'haproxy-keepalived',
          candidates: [
            { name: 'lb1', address: '10.0.0.5', role: 'load-balancer' },
            { name: 'lb2', address: '10.0.0.6', role: 'load-balancer' },
          ],
          actions: ['stop-apiserver', 'stop-haproxy', 'stop-keepalived'],
        },
      }),
    ]);
  });

  it('reset: workers in parallel, then control planes one at a time from the last joined', () => {
    const plan = planRun('reset', spec);
    expect(plan.steps.map((s) => [s.id, s.dependsOn])).toEqual([
      ['reset/w1', []],
      ['reset/w2', []],
      ['reset/cp3', ['reset/w1', 'reset/w2']],
      ['reset/cp2', ['reset/cp3']],
      ['reset/cp1', ['reset/cp2']],
    ]);
    expect(plan.steps.every((s) => s.kind === 'kubeadm-reset' && s.params.nodeName === s.node)).toBe(true);
  });
});

describe('planRun on every valid fixture', () => {
  const dir = join(import.meta.dirname, '../../test/fixtures/specs-valid');
  const cases = readdirSync(dir).flatMap((file) =>
    (['deploy', 'verify', 'drill-failover', 'reset'] as const).map((kind) => [file, kind] as const),
  );

  it.each(cases)('%s, %s: ids unique, acyclic, every step on a spec node or the coordinator', (file, kind) => {
    const spec = requireClusterSpec(readFileSync(join(dir, file), 'utf8'));
    const plan = planRun(kind, spec);
    const names = new Set(spec.spec.nodes.map((n) => n.name));
    expect(plan.steps.length).toBeGreaterThan(0);
    expect(new Set(plan.steps.map((s) => s.id)).size).toBe(plan.steps.length);
    expect(topologicalOrder(plan)).toHaveLength(plan.steps.length);
    for (const s of plan.steps) {
      if (s.runsOn === 'coordinator') expect(s.node).toBe(coordinatorNode);
      else expect(names.has(s.node), s.id).toBe(true);
    }
  });
});
