import { ErrorCode, isErrorCode } from '../common/errors.ts';
import type { StepEventBody, StepEventReport, StepOutcome, StepRef, StepResult } from '../common/step-events.ts';
import type {
  CertificateInventory__Output,
  CertificateInventory as CertificateInventoryProto,
} from './generated/kubeha/v1/CertificateInventory.ts';
import type { ClusterPhase__Output } from './generated/kubeha/v1/ClusterPhase.ts';
import type { CoordinatorMessage } from './generated/kubeha/v1/CoordinatorMessage.ts';
import type { Facts, Facts__Output } from './generated/kubeha/v1/Facts.ts';
import type { RunStep, RunStep__Output } from './generated/kubeha/v1/RunStep.ts';
import type {
  SnapshotChunk__Output,
  SnapshotChunk as SnapshotChunkProto,
} from './generated/kubeha/v1/SnapshotChunk.ts';
import type { SnapshotData__Output } from './generated/kubeha/v1/SnapshotData.ts';
import type { StepEvent, StepEvent__Output } from './generated/kubeha/v1/StepEvent.ts';
import type { StepFinished } from './generated/kubeha/v1/StepFinished.ts';
import type {
  VipTransition__Output,
  VipTransition as VipTransitionProto,
} from './generated/kubeha/v1/VipTransition.ts';

/** The facts an agent reports, in our own shape (numbers, camelCase). */
export interface NodeFacts {
  hostname: string;
  osId: string;
  osVersionId: string;
  osPrettyName: string;
  kernel: string;
  arch: string;
  cpuCount: number;
  memoryBytes: number;
  swapBytes: number;
  interfaces: { name: string; mac: string; addresses: string[]; virtual: boolean }[];
  productUuid: string;
  machineId: string;
  defaultRouteInterface: string;
  cgroupVersion: number;
}

export function factsToProto(facts: NodeFacts): Facts {
  return {
    hostname: facts.hostname,
    os_id: facts.osId,
    os_version_id: facts.osVersionId,
    os_pretty_name: facts.osPrettyName,
    kernel: facts.kernel,
    arch: facts.arch,
    cpu_count: facts.cpuCount,
    memory_bytes: String(facts.memoryBytes),
    swap_bytes: String(facts.swapBytes),
    interfaces: facts.interfaces.map((i) => ({ name: i.name, mac: i.mac, addresses: i.addresses, virtual: i.virtual })),
    product_uuid: facts.productUuid,
    machine_id: facts.machineId,
    default_route_interface: facts.defaultRouteInterface,
    cgroup_version: facts.cgroupVersion,
  };
}

/** How much of an agent's facts the coordinator keeps: they reach tables, logs and every GET /v1/agents. */
export const factLimits = { text: 256, hostname: 253, interfaces: 64, addressesPerInterface: 32 } as const;

// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** At most `max` characters, without control characters (a fact is one line of a table or a log). */
export function boundedFact(value: string | null | undefined, max: number = factLimits.text): string {
  return (value ?? '')
    .slice(0, max * 4)
    .replace(controlCharacters, '')
    .slice(0, max);
}

function boundedCount(value: unknown): number {
  const n = Number(value ?? 0);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/** What an agent reports, bounded: every text capped and stripped of control characters, lists capped. */
export function factsFromProto(facts: Facts__Output | null | undefined): NodeFacts {
  return {
    hostname: boundedFact(facts?.hostname, factLimits.hostname),
    osId: boundedFact(facts?.os_id),
    osVersionId: boundedFact(facts?.os_version_id),
    osPrettyName: boundedFact(facts?.os_pretty_name),
    kernel: boundedFact(facts?.kernel),
    arch: boundedFact(facts?.arch),
    cpuCount: boundedCount(facts?.cpu_count),
    memoryBytes: boundedCount(facts?.memory_bytes),
    swapBytes: boundedCount(facts?.swap_bytes),
    interfaces: (facts?.interfaces ?? []).slice(0, factLimits.interfaces).map((i) => ({
      name: boundedFact(i.name),
      mac: boundedFact(i.mac),
      addresses: i.addresses.slice(0, factLimits.addressesPerInterface).map((a) => boundedFact(a)),
      virtual: i.virtual === true,
    })),
    productUuid: boundedFact(facts?.product_uuid),
    machineId: boundedFact(facts?.machine_id),
    defaultRouteInterface: boundedFact(facts?.default_route_interface),
    cgroupVersion: boundedCount(facts?.cgroup_version),
  };
}

const outcomeToProto = {
  succeeded: 'STEP_OUTCOME_SUCCEEDED',
  failed: 'STEP_OUTCOME_FAILED',
  cancelled: 'STEP_OUTCOME_CANCELLED',
  'timed-out': 'STEP_OUTCOME_TIMED_OUT',
} as const satisfies Record<StepOutcome, string>;

function outcomeFromProto(value: string): StepOutcome {
  for (const [outcome, proto] of Object.entries(outcomeToProto)) {
    if (proto === value) return outcome as StepOutcome;
  }
  return 'failed';
}

function resultToProto(result: StepResult): StepFinished {
  return {
    outcome: outcomeToProto[result.outcome],
    changed: result.changed,
    error: result.error
      ? {
          code: result.error.code,
          message: result.error.message,
          command: result.error.command ?? '',
          exit_code: result.error.exitCode ?? 0,
          stderr_tail: result.error.stderrTail ?? '',
          deterministic: result.error.deterministic,
        }
      : null,
    outputs: result.outputs,
    params_checksum: result.paramsChecksum,
    changes: result.changes,
  };
}

export function stepEventToProto(event: StepEventReport): StepEvent {
  const base = { run_id: event.runId, step_id: event.stepId, attempt: event.attempt, at_ms: String(event.atMs) };
  switch (event.type) {
    case 'started':
      return { ...base, started: { step_kind: event.stepKind, params_checksum: event.paramsChecksum } };
    case 'log':
      return { ...base, log: { stream: event.stream, text: event.text } };
    case 'finished':
      return { ...base, finished: resultToProto(event.result) };
  }
}

export function stepEventFromProto(event: StepEvent__Output): StepEventReport | undefined {
  const ref = { runId: event.run_id, stepId: event.step_id, attempt: event.attempt, atMs: Number(event.at_ms) };
  let body: StepEventBody;
  if (event.started) {
    body = { type: 'started', stepKind: event.started.step_kind, paramsChecksum: event.started.params_checksum };
  } else if (event.log) {
    const stream = event.log.stream === 'stdout' || event.log.stream === 'stderr' ? event.log.stream : 'info';
    body = { type: 'log', stream, text: event.log.text };
  } else if (event.finished) {
    const f = event.finished;
    const error = f.error
      ? {
          // An agent of another release may know a code this coordinator does not: kept in the message.
          code: isErrorCode(f.error.code) ? f.error.code : ErrorCode.stepFailed,
          message: isErrorCode(f.error.code) ? f.error.message : `${f.error.code}: ${f.error.message}`,
          ...(f.error.command ? { command: f.error.command } : {}),
          ...(f.error.command ? { exitCode: f.error.exit_code } : {}),
          ...(f.error.stderr_tail ? { stderrTail: f.error.stderr_tail } : {}),
          deterministic: f.error.deterministic,
        }
      : undefined;
    body = {
      type: 'finished',
      result: {
        outcome: outcomeFromProto(f.outcome),
        changed: f.changed,
        ...(error ? { error } : {}),
        outputs: { ...f.outputs },
        paramsChecksum: f.params_checksum,
        changes: [...f.changes],
      },
    };
  } else {
    return undefined;
  }
  return { ...ref, ...body };
}

type ParamsField = NonNullable<RunStep__Output['params']>;

function camelKey(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function snakeKey(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function mapKeys(value: unknown, rename: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, rename));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), mapKeys(v, rename)]));
  }
  return value;
}

/** "host_prep" (proto oneof field) <-> "host-prep" (step kind). */
export function stepKindFromParamsField(field: string): string {
  return field.replace(/_/g, '-');
}

/** Fields whose proto3 zero stands for "not set" because 0 is never a meaningful value for them. */
const zeroMeansUnset: Record<string, readonly string[]> = {
  'load-balancer': ['lbPort', 'checkIntervalS', 'checkFall', 'checkRise', 'advertIntS'],
  'drain-node': ['timeoutSeconds'],
  'certs-renew': ['restartTimeoutSeconds'],
  'etcd-snapshot': ['chunkBytes'],
  'etcd-restore-stop': ['stopTimeoutSeconds'],
  'etcd-restore-member': ['waitTimeoutSeconds'],
  'etcd-restore-start': ['waitTimeoutSeconds'],
};

/**
 * proto3 cannot tell an absent field from its zero value: an empty string, and a 0 where 0 means nothing, are
 * dropped so that the step's own default applies. Only the top level: nested messages carry no such fields. A step's
 * parameters file (`kubeha-agent step KIND --params FILE`) follows the same convention.
 */
export function withoutUnsetFields(kind: string, params: unknown): unknown {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return params;
  const zeroUnset = zeroMeansUnset[kind] ?? [];
  return Object.fromEntries(
    Object.entries(params).filter(([key, value]) => value !== '' && !(value === 0 && zeroUnset.includes(key))),
  );
}

/** A RunStep's typed parameters as { kind, params } with camelCase keys and unset fields left out, as steps parse them. */
export function stepParamsFromRunStep(message: RunStep__Output): { kind: string; params: unknown } | undefined {
  const field = message.params;
  if (!field) return undefined;
  const kind = stepKindFromParamsField(field);
  return { kind, params: withoutUnsetFields(kind, mapKeys(message[field], camelKey)) };
}

/** A message from the coordinator to one agent, ready for the gateway to write. */
export type MessageToAgent = CoordinatorMessage;

export type EndpointMode = 'haproxy-keepalived' | 'keepalived' | 'external';

/** Where a cluster is, as the coordinator tells each of its nodes' agents. */
export interface ClusterPhase {
  cluster: string;
  /** kubeadm init has finished: from now on the probe decides. */
  initialized: boolean;
  /** This node runs kubeadm init, so it holds the VIP during bootstrap. */
  initNode: boolean;
  endpointMode: EndpointMode;
  lbPort: number;
  vip: string;
  /** Empty until kubeadm init has made the cluster CA. */
  clusterCaPem: string;
}

export function clusterPhaseToProto(phase: ClusterPhase): ClusterPhase__Output {
  return {
    cluster: phase.cluster,
    initialized: phase.initialized,
    init_node: phase.initNode,
    endpoint_mode: phase.endpointMode,
    lb_port: phase.lbPort,
    vip: phase.vip,
    cluster_ca_pem: phase.clusterCaPem,
  };
}

export function clusterPhaseMessage(phase: ClusterPhase): MessageToAgent {
  return { cluster_phase: clusterPhaseToProto(phase) };
}

/** The node gained or lost the VIP, as its agent saw it: times are the agent's clock (ms since the epoch). */
export interface VipTransition {
  vip: string;
  held: boolean;
  atMs: number;
  sentAtMs: number;
}

export function vipTransitionToProto(t: VipTransition): VipTransitionProto {
  return { vip: t.vip, held: t.held, at_ms: String(t.atMs), sent_at_ms: String(t.sentAtMs) };
}

/** Undefined when a time is not a positive integer of milliseconds. */
export function vipTransitionFromProto(message: VipTransition__Output): VipTransition | undefined {
  const atMs = Number(message.at_ms);
  const sentAtMs = Number(message.sent_at_ms);
  if (!Number.isSafeInteger(atMs) || atMs <= 0 || !Number.isSafeInteger(sentAtMs) || sentAtMs <= 0) return undefined;
  return { vip: message.vip, held: message.held, atMs, sentAtMs };
}

/** Tells the agent to stop the attempt; it answers with the attempt's result. */
export function cancelStepMessage(ref: StepRef): MessageToAgent {
  return { cancel_step: { run_id: ref.runId, step_id: ref.stepId, attempt: ref.attempt } };
}

/** The coordinator has stored the attempt's result: the agent may drop it from its spool. */
export function ackMessage(ref: StepRef): MessageToAgent {
  return { ack: { run_id: ref.runId, step_id: ref.stepId, attempt: ref.attempt } };
}

export function runStepMessage(
  ref: StepRef & { timeoutSeconds: number; dryRun?: boolean },
  kind: string,
  params: unknown,
): MessageToAgent {
  return { run_step: runStepFor(ref, kind, params) };
}

/** Builds a RunStep from a step kind and camelCase parameters (the coordinator side). */
export function runStepFor(
  ref: { runId: string; stepId: string; attempt: number; timeoutSeconds: number; dryRun?: boolean },
  kind: string,
  params: unknown,
): RunStep {
  const field = kind.replace(/-/g, '_') as ParamsField;
  return {
    run_id: ref.runId,
    step_id: ref.stepId,
    attempt: ref.attempt,
    timeout_seconds: ref.timeoutSeconds,
    dry_run: ref.dryRun ?? false,
    [field]: mapKeys(params, snakeKey),
  };
}

/** One certificate found on a node: public fields only. Times are ms since the epoch. */
export interface CertificateReport {
  name: string;
  file: string;
  /** The kubeconfig user whose client-certificate-data held it; empty for certificate files. */
  kubeconfigUser: string;
  subject: string;
  issuer: string;
  sans: string[];
  notBeforeMs: number;
  notAfterMs: number;
  isCa: boolean;
}

export interface CertificateInventory {
  gatheredAtMs: number;
  certificates: CertificateReport[];
}

export function certificateInventoryToProto(inventory: CertificateInventory): CertificateInventoryProto {
  return {
    gathered_at_ms: String(inventory.gatheredAtMs),
    certificates: inventory.certificates.map((c) => ({
      name: c.name,
      file: c.file,
      kubeconfig_user: c.kubeconfigUser,
      subject: c.subject,
      issuer: c.issuer,
      sans: c.sans,
      not_before_ms: String(c.notBeforeMs),
      not_after_ms: String(c.notAfterMs),
      is_ca: c.isCa,
    })),
  };
}

/** Certificates without valid times are dropped: an expiry nobody can read cannot be listed or warned about. */
export function certificateInventoryFromProto(message: CertificateInventory__Output): CertificateInventory {
  const certificates: CertificateReport[] = [];
  for (const c of message.certificates) {
    const notBeforeMs = Number(c.not_before_ms);
    const notAfterMs = Number(c.not_after_ms);
    if (!Number.isSafeInteger(notBeforeMs) || !Number.isSafeInteger(notAfterMs) || notAfterMs <= 0) continue;
    certificates.push({
      name: c.name,
      file: c.file,
      kubeconfigUser: c.kubeconfig_user,
      subject: c.subject,
      issuer: c.issuer,
      sans: [...c.sans],
      notBeforeMs,
      notAfterMs,
      isCa: c.is_ca,
    });
  }
  return { gatheredAtMs: Number(message.gathered_at_ms) || 0, certificates };
}

/** One piece of an etcd snapshot an etcd-snapshot step sends; the last one says what the whole file must be. */
export interface SnapshotChunk {
  runId: string;
  stepId: string;
  attempt: number;
  snapshotId: string;
  offset: number;
  data: Uint8Array;
  last: boolean;
  /** Last chunk only: the whole file's size, sha256 (hex) and what `etcdutl snapshot status` said of it. */
  size: number;
  sha256: string;
  revision: number;
  totalKeys: number;
  hash: number;
}

export function snapshotChunkToProto(chunk: SnapshotChunk): SnapshotChunkProto {
  return {
    run_id: chunk.runId,
    step_id: chunk.stepId,
    attempt: chunk.attempt,
    snapshot_id: chunk.snapshotId,
    offset: String(chunk.offset),
    data: Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength),
    last: chunk.last,
    size: String(chunk.size),
    sha256: chunk.sha256,
    revision: String(chunk.revision),
    total_keys: String(chunk.totalKeys),
    hash: String(chunk.hash),
  };
}

/** Undefined when a number does not fit a JavaScript integer (no snapshot is that large). */
export function snapshotChunkFromProto(message: SnapshotChunk__Output): SnapshotChunk | undefined {
  const numbers = [message.offset, message.size, message.revision, message.total_keys, message.hash].map(Number);
  if (!numbers.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  const [offset, size, revision, totalKeys, hash] = numbers as [number, number, number, number, number];
  return {
    runId: message.run_id,
    stepId: message.step_id,
    attempt: message.attempt,
    snapshotId: message.snapshot_id,
    offset,
    data: message.data,
    last: message.last,
    size,
    sha256: message.sha256,
    revision,
    totalKeys,
    hash,
  };
}

/** A piece of an etcd snapshot the coordinator sends to the agent that restores it; the last says the whole file. */
export interface SnapshotData {
  runId: string;
  stepId: string;
  snapshotId: string;
  offset: number;
  data: Uint8Array;
  last: boolean;
  size: number;
  sha256: string;
}

export function snapshotDataMessage(piece: SnapshotData): MessageToAgent {
  return {
    snapshot_data: {
      run_id: piece.runId,
      step_id: piece.stepId,
      snapshot_id: piece.snapshotId,
      offset: String(piece.offset),
      data: Buffer.from(piece.data.buffer, piece.data.byteOffset, piece.data.byteLength),
      last: piece.last,
      size: String(piece.size),
      sha256: piece.sha256,
    },
  };
}

/** Undefined when an offset or size does not fit a JavaScript integer. */
export function snapshotDataFromProto(message: SnapshotData__Output): SnapshotData | undefined {
  const offset = Number(message.offset);
  const size = Number(message.size);
  if (![offset, size].every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  return {
    runId: message.run_id,
    stepId: message.step_id,
    snapshotId: message.snapshot_id,
    offset,
    data: message.data,
    last: message.last,
    size,
    sha256: message.sha256,
  };
}
