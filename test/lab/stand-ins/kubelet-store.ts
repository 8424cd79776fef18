import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { ClusterStore, type KubeObject } from './cluster-store.ts';
import { readNodeIdentity } from './node-identity.ts';
import {
  isAlive,
  podStateDir,
  type RunningPod,
  runningPods,
  type StaticPodManifest,
  startStaticPod,
} from './static-pods.ts';

const manifestsDir = '/etc/kubernetes/manifests';
const identity = readNodeIdentity();
const store = new ClusterStore(identity.clusterDir);
const nodeName = () => hostname();
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} kubelet: ${line}\n`);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function startPod(file: string, text: string, hash: string): RunningPod | undefined {
  return startStaticPod(file, parseYaml(text) as StaticPodManifest, hash, {
    nodeName: nodeName(),
    startedAt: now(),
    log,
    containerEnv: false,
  });
}

function stopPod(pod: RunningPod): void {
  try {
    process.kill(-pod.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  rmSync(`${podStateDir}/${pod.manifest}.json`, { force: true });
  store.delete('pods', pod.namespace, pod.podName);
  log(`stopped static pod ${pod.podName}`);
}

function syncStaticPods(): RunningPod[] {
  mkdirSync(podStateDir, { recursive: true });
  const wanted = existsSync(manifestsDir) ? readdirSync(manifestsDir).filter((f) => f.endsWith('.yaml')) : [];
  const running = new Map(runningPods().map((p) => [p.manifest, p]));
  for (const [file, pod] of running) {
    if (!wanted.includes(file)) {
      stopPod(pod);
      running.delete(file);
    }
  }
  for (const file of wanted) {
    let text: string;
    try {
      text = readFileSync(`${manifestsDir}/${file}`, 'utf8');
    } catch {
      continue;
    }
    const hash = createHash('sha256').update(text).digest('hex');
    const current = running.get(file);
    if (current && current.hash === hash && isAlive(current.pid)) continue;
    if (current) stopPod(current);
    const started = startPod(file, text, hash);
    if (started) running.set(file, started);
    else running.delete(file);
  }
  return [...running.values()];
}

function cniConfigured(): boolean {
  try {
    return readdirSync('/etc/cni/net.d').some((f) => f.endsWith('.conflist') || f.endsWith('.conf'));
  } catch {
    return false;
  }
}

function podObject(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  ready: boolean,
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { nodeName: nodeName(), ...extra },
    status: {
      phase: 'Running',
      hostIP: identity.address,
      podIP: identity.address,
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now() }],
      containerStatuses: [
        { name: labels['component'] ?? name, ready, restartCount: 0, state: { running: { startedAt: now() } } },
      ],
    },
  };
}

/** The DaemonSets' pods on this node; a CNI DaemonSet's pod writes the node's CNI config, as flannel's does. */
function syncDaemonSetPods(): void {
  for (const ds of store.list('daemonsets')) {
    const namespace = ds.metadata.namespace ?? 'default';
    const name = `${ds.metadata.name}-${createHash('sha256').update(nodeName()).digest('hex').slice(0, 5)}`;
    const labels = ((ds['spec'] as { selector?: { matchLabels?: Record<string, string> } })?.selector?.matchLabels ??
      {}) as Record<string, string>;
    if (/flannel|calico|cilium|weave/.test(ds.metadata.name) && !cniConfigured()) {
      mkdirSync('/etc/cni/net.d', { recursive: true });
      writeFileSync(
        `/etc/cni/net.d/10-${ds.metadata.name}.conflist`,
        JSON.stringify(
          {
            name: 'cbr0',
            cniVersion: '0.3.1',
            plugins: [
              { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
              { type: 'portmap', capabilities: { portMappings: true } },
            ],
          },
          null,
          2,
        ),
      );
      log(`${ds.metadata.name}: wrote the CNI configuration`);
    }
    const existing = store.get('pods', namespace, name);
    if (!existing || (existing['status'] as { phase?: string })?.phase !== 'Running') {
      store.put('pods', podObject(name, namespace, { ...labels, 'controller-revision-hash': 'lab' }, true, {}));
    }
  }
}

function reportStatus(pods: RunningPod[]): void {
  const name = nodeName();
  const ready = cniConfigured();
  const old = store.get('nodes', undefined, name);
  if (!old) return; // kubeadm registers the node; the kubelet only keeps its status.
  const conditions = [
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' },
    { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' },
    { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID' },
    ready
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'KubeletNotReady',
          message:
            'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
        },
  ].map((c) => ({ ...c, lastHeartbeatTime: now(), lastTransitionTime: now() }));
  const status = (old['status'] ?? {}) as Record<string, unknown>;
  store.put('nodes', { ...old, status: { ...status, conditions } });
  store.put('leases', {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'kube-node-lease' },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date().toISOString() },
  });
  for (const pod of pods) {
    const component = pod.podName.slice(0, -(name.length + 1));
    store.put(
      'pods',
      podObject(pod.podName, pod.namespace, { component, tier: 'control-plane' }, isAlive(pod.pid), {
        containers: [{ name: pod.containerName, image: pod.image }],
      }),
    );
  }
  syncDaemonSetPods();
}

async function main(): Promise<void> {
  let waited = false;
  while (!existsSync('/var/lib/kubelet/config.yaml') || !existsSync('/etc/kubernetes/kubelet.conf')) {
    if (!waited)
      log('waiting for /var/lib/kubelet/config.yaml and /etc/kubernetes/kubelet.conf (kubeadm init or join)');
    waited = true;
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`running on node ${nodeName()}`);
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
  });
  while (!stopping) {
    try {
      const pods = syncStaticPods();
      reportStatus(pods);
    } catch (error) {
      log(`sync failed: ${(error as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  log('stopped (static pods keep running)');
}

await main();
