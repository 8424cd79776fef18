import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { ExecResult, Host } from '../host/host.ts';

/**
 * etcdctl runs inside this control plane's etcd static-pod container through crictl, not `kubectl exec`:
 * it answers while the apiserver is down or etcd has lost quorum, which is exactly when a member must be removed.
 * It authenticates with kubeadm's healthcheck client certificate (group system:masters, signed by the etcd CA).
 */
const localClientUrl = 'https://127.0.0.1:2379';

const etcdctlCredentials = [
  '--cacert',
  '/etc/kubernetes/pki/etcd/ca.crt',
  '--cert',
  '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
  '--key',
  '/etc/kubernetes/pki/etcd/healthcheck-client.key',
];

export const etcdctlTls = ['--endpoints', localClientUrl, ...etcdctlCredentials];

export const findEtcdContainerArgs = ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'];

export async function etcdContainerId(host: Host): Promise<string> {
  const { stdout } = await host.exec('crictl', findEtcdContainerArgs);
  const id = stdout
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean);
  if (!id || !/^[0-9a-f]{12,64}$/.test(id)) {
    throw new KubehaError(ErrorCode.stepFailed, 'no running etcd container on this node (crictl ps)');
  }
  return id;
}

/**
 * `crictl exec --sync <etcd> etcdctl <tls flags> ARGS`: CRI ExecSync, which needs no streaming server; crictl then
 * prints the command's stderr on its stdout after the command's own output. When the command exits non-zero crictl
 * prints neither: it exits 1 with "command '…' exited with N: <the command's stderr>" on its stderr, so the answer of
 * a failing etcdctl is lost and only its exit code can be trusted.
 */
export function etcdctl(
  host: Host,
  containerId: string,
  args: readonly string[],
  allowFailure = false,
  endpoint = localClientUrl,
): Promise<ExecResult> {
  return host.exec('crictl', etcdctlCommand(containerId, args, endpoint), { allowFailure, onLine: () => {} });
}

/** crictl's arguments for etcdctl ARGS against one endpoint, the local member's by default. */
export function etcdctlCommand(containerId: string, args: readonly string[], endpoint = localClientUrl): string[] {
  return ['exec', '--sync', containerId, 'etcdctl', '--endpoints', endpoint, ...etcdctlCredentials, ...args];
}

/** The last line crictl printed about a failed etcdctl, for a message. */
function failureOf(result: ExecResult): string {
  const lines = `${result.stderr}\n${result.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.at(-1) ?? `exit code ${result.exitCode}`;
}

/**
 * The health of each member that has a client URL, one `endpoint health` per member: with `--cluster`, one member
 * down makes etcdctl exit non-zero and crictl drops the whole answer, the healthy members' lines with it.
 */
export async function healthOfMembers(
  host: Host,
  containerId: string,
  members: readonly EtcdMember[],
): Promise<EtcdEndpointHealth[]> {
  const reachable = members.filter((m) => m.clientUrls.length > 0);
  return Promise.all(
    reachable.map(async (m) => {
      const endpoint = m.clientUrls[0]!;
      const r = await etcdctl(host, containerId, ['endpoint', 'health', '-w', 'json'], true, endpoint);
      if (r.exitCode !== 0) return { endpoint, healthy: false, error: failureOf(r) };
      return parseEndpointHealth(r.stdout)[0] ?? { endpoint, healthy: false, error: 'no answer' };
    }),
  );
}

/** Each reachable member's status (member id, leader), one `endpoint status` per member; an unreachable one is left out. */
export async function statusOfMembers(
  host: Host,
  containerId: string,
  members: readonly EtcdMember[],
): Promise<EtcdEndpointStatus[]> {
  const reachable = members.filter((m) => m.clientUrls.length > 0);
  const statuses = await Promise.all(
    reachable.map(async (m) => {
      const r = await etcdctl(host, containerId, ['endpoint', 'status', '-w', 'json'], true, m.clientUrls[0]!);
      return r.exitCode === 0 ? parseEndpointStatus(r.stdout) : [];
    }),
  );
  return statuses.flat();
}

/**
 * etcdctl's `-w json` answer, found among what `crictl exec --sync` prints (the answer, then etcdctl's stderr, where
 * the etcd client logs JSON lines with "level" and "msg"). etcd prints 64-bit ids as JSON numbers, beyond what a
 * double holds: they are kept as decimal strings.
 */
export function parseEtcdJson(text: string): unknown {
  const parse = (json: string) => JSON.parse(json.replace(/([:[,]\s*)(\d{16,})(?=\s*[,\]}])/g, '$1"$2"')) as unknown;
  const isLog = (v: unknown) => typeof v === 'object' && v !== null && 'level' in v && 'msg' in v;
  try {
    const whole = parse(text);
    if (!isLog(whole)) return whole;
  } catch {
    // More than the answer: look for it line by line.
  }
  for (const line of text.split('\n').filter((l) => /^\s*[[{]/.test(l))) {
    try {
      const parsed = parse(line);
      if (!isLog(parsed)) return parsed;
    } catch {
      // Not a JSON line.
    }
  }
  throw new SyntaxError(`no etcdctl JSON answer in: ${text.slice(0, 200)}`);
}

export interface EtcdMember {
  /** Hex, as `member remove` takes it. */
  id: string;
  /** Empty for a member that was added but never started. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

const hexId = (decimal: unknown) => BigInt(String(decimal)).toString(16);

/** `member list -w json`. */
export function parseMemberList(text: string): EtcdMember[] {
  const parsed = parseEtcdJson(text) as {
    members?: { ID?: unknown; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }[];
  };
  return (parsed.members ?? []).map((m) => ({
    id: hexId(m.ID),
    name: m.name ?? '',
    peerUrls: m.peerURLs ?? [],
    clientUrls: m.clientURLs ?? [],
    isLearner: m.isLearner ?? false,
  }));
}

export interface EtcdEndpointHealth {
  endpoint: string;
  healthy: boolean;
  error?: string;
}

/** `endpoint health -w json`. */
export function parseEndpointHealth(text: string): EtcdEndpointHealth[] {
  const parsed = parseEtcdJson(text) as { endpoint?: string; health?: boolean; error?: string }[];
  return parsed.map((h) => ({
    endpoint: h.endpoint ?? '',
    healthy: h.health === true,
    ...(h.error ? { error: h.error } : {}),
  }));
}

export interface EtcdEndpointStatus {
  endpoint: string;
  memberId: string;
  leaderId: string;
  isLearner: boolean;
}

/** `endpoint status -w json`. */
export function parseEndpointStatus(text: string): EtcdEndpointStatus[] {
  const parsed = parseEtcdJson(text) as {
    Endpoint?: string;
    Status?: { header?: { member_id?: unknown }; leader?: unknown; isLearner?: boolean };
  }[];
  return parsed.map((s) => ({
    endpoint: s.Endpoint ?? '',
    memberId: hexId(s.Status?.header?.member_id ?? 0),
    leaderId: hexId(s.Status?.leader ?? 0),
    isLearner: s.Status?.isLearner ?? false,
  }));
}

/** The host part of a peer URL ("https://192.168.1.11:2380" -> "192.168.1.11"; IPv6 without brackets). */
export function urlHost(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return '';
  }
}

/** `crictl exec --sync <etcd> etcdutl ARGS`: etcdutl works on files (a snapshot) and needs no connection to etcd. */
export function etcdutl(host: Host, containerId: string, args: readonly string[]): Promise<ExecResult> {
  return host.exec('crictl', ['exec', '--sync', containerId, 'etcdutl', ...args], { onLine: () => {} });
}

export interface EtcdSnapshotStatus {
  hash: number;
  revision: number;
  totalKeys: number;
  totalSize: number;
}

/** `etcdutl snapshot status FILE -w json`: {"hash":…,"revision":…,"totalKey":…,"totalSize":…}. */
export function parseSnapshotStatus(text: string): EtcdSnapshotStatus {
  const parsed = parseEtcdJson(text) as Record<string, unknown>;
  const field = (name: string): number => {
    const value = Number(parsed[name]);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new SyntaxError(`etcdutl snapshot status: "${name}" is not a count: ${String(parsed[name])}`);
    }
    return value;
  };
  return {
    hash: field('hash'),
    revision: field('revision'),
    totalKeys: field('totalKey'),
    totalSize: field('totalSize'),
  };
}
