import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goAvailable, realKubePrograms } from './kube-binaries.ts';
import { LabNetwork } from './lab-network.ts';
import { type LabNode, runOk } from './lab-node.ts';

// The containerd stand-in's CRI and the kubelet stand-in's processes, as the REAL crictl sees them, in one lab node
// of a real-control-plane lab (no apiserver: the kubelet runs its static pods and serves /healthz regardless).
const subnet = '10.231.248';
const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
  labels: { component: etcd, tier: control-plane }
spec:
  hostNetwork: true
  containers:
    - name: etcd
      image: registry.k8s.io/etcd:3.6.5-0
      command: [sleep, "3600"]
      env:
        - { name: LAB_MARKER, value: from-the-manifest }
`;
const kubeletConf = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1", certificate-authority-data: "" } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
users: [{ name: u, user: { token: unused } }]
`;

/** Polls until `probe` is true: at most `attempts` tries, 250 ms apart. */
async function eventually(what: string, probe: () => Promise<boolean>, attempts = 120): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not after ${attempts} tries`);
}

describe.skipIf(!goAvailable())('the CRI and kubelet stand-ins under the real crictl', () => {
  let lab: LabNetwork;
  let cp1: LabNode;

  beforeAll(async () => {
    const real = await realKubePrograms(() => {});
    if (!real) throw new Error('Go is available but gave no programs');
    lab = LabNetwork.create({ id: `c${process.pid.toString(36)}`, subnet, realBinaries: real });
    cp1 = await lab.addNode('cp1', 11);
    await runOk(cp1, 'dnf', ['install', '-y', 'containerd.io', 'kubelet', 'cri-tools']);
    await runOk(
      cp1,
      'sh',
      ['-c', 'cat > /etc/crictl.yaml'],
      'runtime-endpoint: unix:///run/containerd/containerd.sock\n',
    );
    await runOk(cp1, 'systemctl', ['start', 'containerd']);
    await eventually('the CRI socket', async () => (await cp1.run('crictl', ['version'])).code === 0);
  }, 30 * 60_000);

  afterAll(async () => {
    await lab?.teardown();
    expect(lab.leftovers()).toEqual([]);
  }, 60_000);

  it('answers Version, Status with the systemd cgroup driver, and the image calls', async () => {
    expect(await runOk(cp1, 'crictl', ['version'])).toMatch(
      /RuntimeName:\s+containerd\s[\s\S]*RuntimeApiVersion:\s+v1/,
    );
    const info = JSON.parse(await runOk(cp1, 'crictl', ['info'])) as {
      status: { conditions: { type: string; status: boolean }[] };
    };
    expect(info.status.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'RuntimeReady', status: true })]),
    );
    expect(await runOk(cp1, 'crictl', ['runtime-config'])).toMatch(/SYSTEMD/);
    // A control-plane image counts as present; another is absent until pulled.
    expect(await runOk(cp1, 'crictl', ['inspecti', 'registry.k8s.io/kube-apiserver:v1.34.4'])).toContain(
      'registry.k8s.io/kube-apiserver:v1.34.4',
    );
    expect((await cp1.run('crictl', ['inspecti', 'docker.io/library/busybox:1.36'])).code).not.toBe(0);
    await runOk(cp1, 'crictl', ['pull', 'docker.io/library/busybox:1.36']);
    expect(await runOk(cp1, 'crictl', ['images', '-q'])).toMatch(/^sha256:[0-9a-f]{64}$/m);
  });

  it('lists the kubelet stand-in static pod as a running container, execs in it with its environment, and removes it', async () => {
    // GIVEN the kubelet stand-in with kubeadm's files and a static pod manifest
    expect(await runOk(cp1, 'kubelet', ['--version'])).toBe('Kubernetes v1.34.4\n');
    await runOk(
      cp1,
      'sh',
      ['-c', 'mkdir -p /var/lib/kubelet && cat > /var/lib/kubelet/config.yaml'],
      'healthzPort: 10248\n',
    );
    await runOk(cp1, 'sh', ['-c', 'mkdir -p /etc/kubernetes && cat > /etc/kubernetes/kubelet.conf'], kubeletConf);
    await runOk(
      cp1,
      'sh',
      ['-c', 'mkdir -p /etc/kubernetes/manifests && cat > /etc/kubernetes/manifests/etcd.yaml'],
      manifest,
    );
    await runOk(cp1, 'systemctl', ['start', 'kubelet']);
    // THEN it serves /healthz and the real crictl sees the pod running
    await eventually(
      'the kubelet /healthz',
      async () => (await cp1.run('curl', ['-sf', 'http://127.0.0.1:10248/healthz'])).stdout === 'ok',
    );
    let id = '';
    await eventually('the etcd container', async () => {
      id = (
        await runOk(cp1, 'crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'])
      ).trim();
      return /^[0-9a-f]{64}$/.test(id);
    });
    expect(await runOk(cp1, 'crictl', ['pods', '--name', 'etcd-cp1', '-q'])).toMatch(/^[0-9a-f]{64}$/m);
    // AND crictl exec --sync runs in the container's environment, with the command's exit status
    expect(await runOk(cp1, 'crictl', ['exec', '--sync', id, 'sh', '-c', 'echo "$LAB_MARKER"'])).toContain(
      'from-the-manifest',
    );
    expect((await cp1.run('crictl', ['exec', '--sync', id, 'sh', '-c', 'exit 3'])).code).not.toBe(0);
    // WHEN the manifest goes and the pod is removed, as kubeadm reset does
    await runOk(cp1, 'systemctl', ['stop', 'kubelet']);
    await runOk(cp1, 'rm', ['/etc/kubernetes/manifests/etcd.yaml']);
    await runOk(cp1, 'crictl', ['rmp', '--force', '--all']);
    // THEN no container is left
    expect((await runOk(cp1, 'crictl', ['ps', '-a', '-q'])).trim()).toBe('');
  });
});
