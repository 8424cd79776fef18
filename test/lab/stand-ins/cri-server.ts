// The CRI (runtime.v1 RuntimeService and ImageService) of the containerd stand-in, over gRPC on containerd's socket,
// as kubeadm, the real crictl and the kubelet use it. The containers are the static pods the stand-in kubelet runs
// as processes (one sandbox and one container per pod); images are a list in the node's /var/lib: the control-plane
// images count as present, a pull adds the image without downloading anything. ExecSync runs the command in the
// node with the container process's environment, which is what `crictl exec -s <etcd> etcdctl ...` needs.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { isAlive, podStateDir, type RunningPod, runningPods } from './static-pods.ts';

const protoPath = fileURLToPath(new URL('./cri-api.proto', import.meta.url));
const imagesFile = '/var/lib/containerd-stand-in/images.json';
const presentImages =
  /^registry\.k8s\.io\/(kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy|etcd|pause|coredns\/coredns):/;

// biome-ignore lint/suspicious/noExplicitAny: requests and replies are plain objects shaped by the CRI proto.
type Message = any;
type Handler = (request: Message) => Message | Promise<Message>;

function pulledImages(): string[] {
  try {
    return JSON.parse(readFileSync(imagesFile, 'utf8')) as string[];
  } catch {
    return [];
  }
}

function imageId(image: string): string {
  return `sha256:${createHash('sha256').update(image).digest('hex')}`;
}

function image(ref: string): Message {
  return { id: imageId(ref), repo_tags: [ref], repo_digests: [], size: '1000000', spec: { image: ref } };
}

function hasImage(ref: string): boolean {
  return (
    presentImages.test(ref) || pulledImages().includes(ref) || pulledImages().includes(ref.replace(/^sha256:/, ''))
  );
}

/** containerd's configured sandbox image (kubeadm reads it from the verbose status). */
function sandboxImage(): string {
  try {
    const toml = readFileSync('/etc/containerd/config.toml', 'utf8');
    return /sandbox_image\s*=\s*"([^"]+)"/.exec(toml)?.[1] ?? 'registry.k8s.io/pause:3.8';
  } catch {
    return 'registry.k8s.io/pause:3.8';
  }
}

function nanos(iso: string): string {
  return (BigInt(Date.parse(iso)) * 1_000_000n).toString();
}

function podLabels(pod: RunningPod): Record<string, string> {
  return {
    'io.kubernetes.pod.name': pod.podName,
    'io.kubernetes.pod.namespace': pod.namespace,
    'io.kubernetes.pod.uid': pod.podId.slice(0, 32),
  };
}

function sandbox(pod: RunningPod): Message {
  return {
    id: pod.podId,
    metadata: { name: pod.podName, uid: pod.podId.slice(0, 32), namespace: pod.namespace, attempt: 0 },
    state: isAlive(pod.pid) ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
    created_at: nanos(pod.startedAt),
    labels: podLabels(pod),
    annotations: {},
  };
}

function container(pod: RunningPod): Message {
  return {
    id: pod.containerId,
    pod_sandbox_id: pod.podId,
    metadata: { name: pod.containerName, attempt: 0 },
    image: { image: pod.image },
    image_ref: imageId(pod.image),
    image_id: imageId(pod.image),
    state: isAlive(pod.pid) ? 'CONTAINER_RUNNING' : 'CONTAINER_EXITED',
    created_at: nanos(pod.startedAt),
    labels: { ...podLabels(pod), 'io.kubernetes.container.name': pod.containerName },
    annotations: {},
  };
}

function matchesLabels(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

function notFound(what: string): grpc.ServiceError {
  return Object.assign(new Error(`${what}: not found`), {
    code: grpc.status.NOT_FOUND,
    details: `${what}: not found`,
    metadata: new grpc.Metadata(),
  });
}

/** Finds a container or sandbox by id or unique id prefix, as containerd does. */
function findPod(id: string, by: 'containerId' | 'podId'): RunningPod {
  const matches = runningPods().filter((p) => id !== '' && p[by].startsWith(id));
  if (matches.length !== 1) throw notFound(`${by === 'podId' ? 'sandbox' : 'container'} "${id}"`);
  return matches[0]!;
}

function kill(pod: RunningPod): void {
  try {
    process.kill(-pod.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function environmentOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

const outputCap = 16 * 1024 * 1024;

function execSync(pod: RunningPod, cmd: string[], timeoutS: number): Promise<Message> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { env: environmentOf(pod.pid), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = timeoutS > 0 ? setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000) : undefined;
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.alloc(0), stderr: Buffer.from(`${e.message}\n`), exit_code: 127 });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).subarray(0, outputCap),
        stderr: Buffer.concat(err).subarray(0, outputCap),
        exit_code: code ?? (signal ? 137 : 1),
      });
    });
  });
}

const runtimeService: Record<string, Handler> = {
  Version: () => ({
    version: '0.1.0',
    runtime_name: 'containerd',
    runtime_version: 'v1.7.25',
    runtime_api_version: 'v1',
  }),
  Status: (request) => ({
    status: {
      conditions: [
        { type: 'RuntimeReady', status: true, reason: '', message: '' },
        { type: 'NetworkReady', status: true, reason: '', message: '' },
      ],
    },
    info: request.verbose ? { config: JSON.stringify({ sandboxImage: sandboxImage() }) } : {},
  }),
  RuntimeConfig: () => ({ linux: { cgroup_driver: 'SYSTEMD' } }),
  ListPodSandbox: (request) => {
    const filter = request.filter ?? {};
    const items = runningPods()
      .map(sandbox)
      .filter(
        (s: Message) =>
          (!filter.id || s.id.startsWith(filter.id)) &&
          (!filter.state || s.state === filter.state.state) &&
          matchesLabels(s.labels, filter.label_selector),
      );
    return { items };
  },
  PodSandboxStatus: (request) => {
    const pod = findPod(request.pod_sandbox_id, 'podId');
    const s = sandbox(pod);
    return { status: { ...s, network: { ip: '' } }, info: {}, containers_statuses: [] };
  },
  StopPodSandbox: (request) => {
    const pod = runningPods().find((p) => p.podId.startsWith(request.pod_sandbox_id));
    if (pod) kill(pod);
    return {};
  },
  RemovePodSandbox: (request) => {
    const pod = runningPods().find((p) => p.podId.startsWith(request.pod_sandbox_id));
    if (pod) {
      kill(pod);
      rmSync(`${podStateDir}/${pod.manifest}.json`, { force: true });
    }
    return {};
  },
  ListContainers: (request) => {
    const filter = request.filter ?? {};
    const containers = runningPods()
      .map(container)
      .filter(
        (c: Message) =>
          (!filter.id || c.id.startsWith(filter.id)) &&
          (!filter.pod_sandbox_id || c.pod_sandbox_id.startsWith(filter.pod_sandbox_id)) &&
          (!filter.state || c.state === filter.state.state) &&
          matchesLabels(c.labels, filter.label_selector),
      );
    return { containers };
  },
  ContainerStatus: (request) => {
    const pod = findPod(request.container_id, 'containerId');
    const c = container(pod);
    return {
      status: {
        ...c,
        started_at: c.created_at,
        finished_at: '0',
        exit_code: 0,
        reason: '',
        message: '',
        mounts: [],
        log_path: `/var/log/pods/${pod.namespace}_${pod.podName}/${pod.containerName}.log`,
      },
      info: {},
    };
  },
  StopContainer: (request) => {
    const pod = runningPods().find((p) => p.containerId.startsWith(request.container_id));
    if (pod) kill(pod);
    return {};
  },
  RemoveContainer: (request) => {
    const pod = runningPods().find((p) => p.containerId.startsWith(request.container_id));
    if (pod) {
      kill(pod);
      rmSync(`${podStateDir}/${pod.manifest}.json`, { force: true });
    }
    return {};
  },
  ExecSync: (request) => {
    const pod = findPod(request.container_id, 'containerId');
    if (!isAlive(pod.pid)) throw notFound(`running container "${request.container_id}"`);
    if (!Array.isArray(request.cmd) || request.cmd.length === 0) {
      throw Object.assign(new Error('cmd is empty'), { code: grpc.status.INVALID_ARGUMENT });
    }
    return execSync(pod, request.cmd, Number(request.timeout ?? 0));
  },
  ListContainerStats: () => ({ stats: [] }),
  ListPodSandboxStats: () => ({ stats: [] }),
};

const imageService: Record<string, Handler> = {
  ListImages: (request) => {
    const wanted: string | undefined = request.filter?.image?.image || undefined;
    const refs = [...new Set(pulledImages())];
    return { images: refs.filter((r) => !wanted || r === wanted).map(image) };
  },
  ImageStatus: (request) => {
    const ref: string = request.image?.image ?? '';
    return hasImage(ref) ? { image: image(ref), info: {} } : { info: {} };
  },
  PullImage: (request) => {
    const ref: string = request.image?.image ?? '';
    if (!ref) throw Object.assign(new Error('image is empty'), { code: grpc.status.INVALID_ARGUMENT });
    const images = pulledImages();
    if (!images.includes(ref)) {
      mkdirSync('/var/lib/containerd-stand-in', { recursive: true });
      writeFileSync(imagesFile, JSON.stringify([...images, ref]));
    }
    return { image_ref: imageId(ref) };
  },
  RemoveImage: (request) => {
    const ref: string = request.image?.image ?? '';
    writeFileSync(imagesFile, JSON.stringify(pulledImages().filter((i) => i !== ref)));
    return {};
  },
  ImageFsInfo: () => ({ image_filesystems: [], container_filesystems: [] }),
};

function implement(
  service: grpc.ServiceDefinition,
  handlers: Record<string, Handler>,
): grpc.UntypedServiceImplementation {
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(service)) {
    const handler = handlers[name];
    if (method.responseStream) {
      implementation[name] = (call: grpc.ServerWritableStream<unknown, unknown>) =>
        call.emit('error', {
          code: grpc.status.UNIMPLEMENTED,
          details: `${name} is not implemented by the lab stand-in`,
        });
      continue;
    }
    implementation[name] = (call: grpc.ServerUnaryCall<Message, Message>, callback: grpc.sendUnaryData<Message>) => {
      if (!handler) {
        callback({ code: grpc.status.UNIMPLEMENTED, details: `${name} is not implemented by the lab stand-in` });
        return;
      }
      Promise.resolve()
        .then(() => handler(call.request))
        .then(
          (reply) => callback(null, reply),
          (error: grpc.ServiceError) =>
            callback({ code: error.code ?? grpc.status.INTERNAL, details: error.details ?? error.message }),
        );
    };
  }
  return implementation;
}

/** Serves the CRI on a unix socket until the process ends. */
export async function serveCri(socketPath: string): Promise<grpc.Server> {
  const definition = protoLoader.loadSync(protoPath, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } };
  };
  const server = new grpc.Server();
  const { RuntimeService, ImageService } = loaded.runtime.v1;
  server.addService(RuntimeService.service, implement(RuntimeService.service, runtimeService));
  server.addService(ImageService.service, implement(ImageService.service, imageService));
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  return server;
}
