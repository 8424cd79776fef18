import { createHash } from 'node:crypto';
import { CommandFailedError, type Host } from '../host/host.ts';
import { kubectl } from './kubectl.ts';

/**
 * verify's cross-node pod traffic check: an agnhost `netexec` pod on every Ready node, and for each node A and the next
 * node B in name order (a ring) A's pod asked, through the apiserver's pod proxy, to fetch `/hostname` from B's pod IP.
 * The pure parts (the pods, the ring, reading agnhost's and kubectl's replies) are apart from the I/O below them.
 */

export const probeNamespace = 'kube-system';
export const probePort = 8080;
export const probeLabels = {
  'app.kubernetes.io/name': 'kubeha-pod-probe',
  'app.kubernetes.io/managed-by': 'kubeha',
} as const;
export const probeSelector = Object.entries(probeLabels)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');
/** The agnhost release Kubernetes 1.34's own e2e tests use (test/utils/image/manifest.go). */
export const agnhostImagePath = 'e2e-test-images/agnhost:2.56';

export interface PodTrafficCheck {
  from: string;
  to: string;
  ok: boolean;
  error?: string;
}

/**
 * The probe pod's name: `kubeha-pod-probe-NODE`, or, for a node name that would make it longer than a hostname may
 * be (63), a hash of the node name. Kept at most 63 so that the pod's hostname, which agnhost answers with, is the name.
 */
export function probePodName(node: string): string {
  const name = `kubeha-pod-probe-${node}`;
  if (name.length <= 63 && !node.includes('.')) return name;
  return `kubeha-pod-probe-${createHash('sha256').update(node).digest('hex').slice(0, 16)}`;
}

/** The pods, as one List for `kubectl create -f -`. */
export function probePodList(nodes: readonly string[], image: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: nodes.map((node) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: probePodName(node), namespace: probeNamespace, labels: { ...probeLabels } },
      spec: {
        // Bound here, so no scheduler and no taint decides where it runs; it tolerates every taint for the kubelet.
        nodeName: node,
        tolerations: [{ operator: 'Exists' }],
        restartPolicy: 'Never',
        // A verify killed mid-way leaves nothing running for long: the kubelet ends the pod after this.
        activeDeadlineSeconds: 300,
        terminationGracePeriodSeconds: 1,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534 },
        containers: [
          {
            name: 'netexec',
            image,
            // The image's entrypoint is /agnhost. netexec's /healthz answers 200 once its UDP server (8081) is up too.
            args: ['netexec', `--http-port=${probePort}`],
            ports: [{ name: 'http', containerPort: probePort, protocol: 'TCP' }],
            readinessProbe: { httpGet: { path: '/healthz', port: probePort }, periodSeconds: 2 },
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
            resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
          },
        ],
      },
    })),
  };
}

/** Each node sends to the next in name order and the last to the first: every node sends and receives once. */
export function ringPairs(nodes: readonly string[]): { from: string; to: string }[] {
  const sorted = [...nodes].sort();
  if (sorted.length < 2) return [];
  return sorted.map((from, i) => ({ from, to: sorted[(i + 1) % sorted.length]! }));
}

/** The pod-proxy path that asks `fromPod`'s netexec to GET http://toIp:8080/hostname once. */
export function dialPath(fromPod: string, toIp: string): string {
  const query = new URLSearchParams({
    request: 'hostname',
    protocol: 'http',
    host: toIp,
    port: String(probePort),
    tries: '1',
  });
  return `/api/v1/namespaces/${probeNamespace}/pods/${fromPod}:${probePort}/proxy/dial?${query.toString()}`;
}

/**
 * agnhost's /dial answer: `{"responses":["NAME"]}` when the peer answered, `{"errors":["Get ...: dial tcp ...: ..."]}`
 * when not. The peer must answer with its own pod name (its hostname): another answer means the IP is someone else's.
 */
export function parseDialReply(body: string, expectedHostname: string): { ok: true } | { ok: false; error: string } {
  let reply: { responses?: unknown; errors?: unknown };
  try {
    reply = JSON.parse(body) as typeof reply;
  } catch {
    return { ok: false, error: `agnhost's /dial did not answer JSON: ${body.trim().slice(0, 200)}` };
  }
  const errors = Array.isArray(reply.errors) ? reply.errors.map(String) : [];
  const responses = Array.isArray(reply.responses) ? reply.responses.map(String) : [];
  if (errors.length > 0) return { ok: false, error: errors[0]! };
  if (responses.length === 0) return { ok: false, error: 'no answer and no error from the peer' };
  if (responses[0]!.trim() !== expectedHostname) {
    return { ok: false, error: `answered as ${responses[0]!.trim()}, not ${expectedHostname}` };
  }
  return { ok: true };
}

/** The message of `Error from server (Reason): message` in kubectl's stderr, else its last line. */
export function kubectlErrorMessage(stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean);
  const server = lines.find((l) => l.startsWith('Error from server'));
  return (server ?? lines.at(-1) ?? 'no message').slice(0, 300);
}

interface ProbePodJson {
  metadata?: { name?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    reason?: string;
    message?: string;
    conditions?: { type?: string; status?: string }[];
    containerStatuses?: {
      state?: {
        waiting?: { reason?: string; message?: string };
        terminated?: { reason?: string; exitCode?: number; message?: string };
      };
    }[];
  };
}

interface EventJson {
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
  metadata?: { creationTimestamp?: string };
}

export interface ProbePodState {
  name: string;
  ready: boolean;
  podIP?: string;
  /** Why it is not ready (phase, the container's waiting or terminated reason); the last event is added by I/O. */
  why?: string;
}

/** Each node's probe pod as the pod list shows it. */
export function probePodStates(list: unknown, nodes: readonly string[]): Map<string, ProbePodState> {
  const pods = ((list as { items?: ProbePodJson[] } | undefined)?.items ?? []) as ProbePodJson[];
  const states = new Map<string, ProbePodState>();
  for (const node of nodes) {
    const name = probePodName(node);
    const pod = pods.find((p) => p.metadata?.name === name);
    if (!pod) {
      states.set(node, { name, ready: false, why: 'the pod is gone' });
      continue;
    }
    const status = pod.status ?? {};
    const ready = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const container = status.containerStatuses?.[0]?.state;
    const reasons = [
      status.phase ?? 'Pending',
      status.reason,
      status.message,
      container?.waiting && [container.waiting.reason, container.waiting.message].filter(Boolean).join(': '),
      container?.terminated &&
        `${container.terminated.reason ?? 'terminated'} (exit ${container.terminated.exitCode ?? '?'})`,
    ].filter((r): r is string => typeof r === 'string' && r !== '');
    states.set(node, {
      name,
      ready: ready && status.phase === 'Running' && Boolean(status.podIP),
      ...(status.podIP ? { podIP: status.podIP } : {}),
      ...(ready && status.podIP ? {} : { why: reasons.join(', ') }),
    });
  }
  return states;
}

/** The newest event's "Reason: message", or undefined. */
export function lastEvent(list: unknown): string | undefined {
  const events = ((list as { items?: EventJson[] } | undefined)?.items ?? []) as EventJson[];
  const when = (e: EventJson) => e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '';
  const newest = [...events].sort((a, b) => when(a).localeCompare(when(b))).at(-1);
  if (!newest) return undefined;
  return [newest.reason, newest.message].filter(Boolean).join(': ');
}

export interface PodNetworkObservation {
  checked: PodTrafficCheck[];
  /** What went wrong beside the pairs: a probe pod that did not start, probe pods that could not be deleted. */
  problems: string[];
}

const waitTimeoutSeconds = 120;
const dialTimeoutMs = 30_000;
const deleteTimeoutSeconds = 60;

async function deleteProbePods(host: Host): Promise<string | undefined> {
  const result = await kubectl(
    host,
    [
      '-n',
      probeNamespace,
      'delete',
      'pods',
      '-l',
      probeSelector,
      '--ignore-not-found',
      '--wait=true',
      `--timeout=${deleteTimeoutSeconds}s`,
    ],
    { allowFailure: true, timeoutMs: (deleteTimeoutSeconds + 30) * 1000 },
  );
  return result.exitCode === 0 ? undefined : kubectlErrorMessage(result.stderr);
}

async function kubectlJsonOrUndefined(host: Host, args: string[]): Promise<unknown> {
  const result = await kubectl(host, [...args, '-o', 'json'], { allowFailure: true, onLine: () => {} });
  if (result.exitCode !== 0) return undefined;
  try {
    return JSON.parse(result.stdout) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Runs the check on `nodes` (the Ready nodes that run a kubelet): removes an earlier verify's probe pods, creates one
 * per node, waits (bounded) until they are Ready, asks each pair of the ring, and deletes the pods whatever happened.
 */
export async function probePodNetwork(
  host: Host,
  nodes: readonly string[],
  image: string,
  log: (line: string) => void,
): Promise<PodNetworkObservation> {
  const problems: string[] = [];
  const pairs = ringPairs(nodes);
  if (pairs.length === 0) return { checked: [], problems };

  const leftover = await deleteProbePods(host);
  if (leftover) problems.push(`removing an earlier verify's probe pods: ${leftover}`);
  try {
    log(`pod network: a probe pod (${image}) on each of ${nodes.length} nodes`);
    const created = await kubectl(host, ['create', '-f', '-'], {
      input: JSON.stringify(probePodList(nodes, image)),
      allowFailure: true,
    });
    if (created.exitCode !== 0) {
      const error = `creating the probe pods: ${kubectlErrorMessage(created.stderr)}`;
      problems.push(error);
      return { checked: pairs.map((p) => ({ ...p, ok: false, error })), problems };
    }
    await kubectl(
      host,
      [
        '-n',
        probeNamespace,
        'wait',
        '--for=condition=Ready',
        ...nodes.map((n) => `pod/${probePodName(n)}`),
        `--timeout=${waitTimeoutSeconds}s`,
      ],
      { allowFailure: true, timeoutMs: (waitTimeoutSeconds + 30) * 1000 },
    );
    const states = probePodStates(
      await kubectlJsonOrUndefined(host, ['-n', probeNamespace, 'get', 'pods', '-l', probeSelector]),
      nodes,
    );
    for (const node of nodes) {
      const state = states.get(node)!;
      if (state.ready) continue;
      const event = lastEvent(
        await kubectlJsonOrUndefined(host, [
          '-n',
          probeNamespace,
          'get',
          'events',
          '--field-selector',
          `involvedObject.kind=Pod,involvedObject.name=${state.name}`,
        ]),
      );
      state.why = [state.why, event && `last event ${event}`].filter(Boolean).join('; ');
      problems.push(`the probe pod on ${node} did not become Ready within ${waitTimeoutSeconds} s: ${state.why}`);
    }
    const checked: PodTrafficCheck[] = [];
    for (const { from, to } of pairs) {
      const source = states.get(from)!;
      const target = states.get(to)!;
      if (!source.ready || !target.ready) {
        const down = source.ready ? to : from;
        checked.push({ from, to, ok: false, error: `no probe pod running on ${down}` });
        continue;
      }
      const result = await kubectl(host, ['get', '--raw', dialPath(source.name, target.podIP!)], {
        allowFailure: true,
        timeoutMs: dialTimeoutMs,
        onLine: () => {},
      }).catch((error: unknown) => {
        // An apiserver that cannot reach the pod waits for its own dial timeout: that pair failed, not the check.
        if (error instanceof CommandFailedError && error.timedOut) return undefined;
        throw error;
      });
      const verdict = !result
        ? {
            ok: false as const,
            error: `the apiserver's proxy to ${from}'s pod did not answer within ${dialTimeoutMs / 1000} s`,
          }
        : result.exitCode === 0
          ? parseDialReply(result.stdout, target.name)
          : {
              ok: false as const,
              error: `the apiserver's proxy to ${from}'s pod: ${kubectlErrorMessage(result.stderr)}`,
            };
      checked.push(verdict.ok ? { from, to, ok: true } : { from, to, ok: false, error: verdict.error });
      log(`pod network: ${from} -> ${to} (${target.podIP}): ${verdict.ok ? 'ok' : verdict.error}`);
    }
    return { checked, problems };
  } finally {
    const notDeleted = await deleteProbePods(host);
    if (notDeleted) problems.push(`deleting the probe pods: ${notDeleted}`);
  }
}
