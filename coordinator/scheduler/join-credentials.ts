import { randomBytes, randomInt } from 'node:crypto';
import { formatHostPort } from '../../common/format-host-port.ts';
import type { AgentStepKind, PlannedStepParams } from '../../proto/step-params/step-params-by-kind.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { generateBootstrapToken } from '../pki/bootstrap-tokens.ts';
import type { RetryPolicy } from '../plan/run-plan.ts';
import { type ClusterValue, notStartedStep, type StepRecord } from '../store/store.ts';
import { type Values, valueNames } from './cluster-values.ts';

/** A joining node's token lives this long; it is deleted as soon as the node has joined. */
export const joinTokenTtlSeconds = 30 * 60;
/** A token this close to its expiry is not handed out for a new join attempt. */
const joinTokenMarginMs = 5 * 60 * 1000;
/** kubeadm deletes the uploaded certificates (the kubeadm-certs Secret) after 2 h; re-upload well before. */
export const certificateKeyMaxAgeMs = 100 * 60 * 1000;

const credentialRetry: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 2_000, maxBackoffMs: 30_000 };
const credentialTimeoutSeconds = 180;

export function isJoin(step: StepRecord): boolean {
  return step.kind === 'kubeadm-join';
}

export function isControlPlaneJoin(step: StepRecord): boolean {
  return isJoin(step) && step.params['controlPlane'] === true;
}

/** The secrets a cluster needs before its first step goes out; only the missing ones are made. */
export function missingClusterSecrets(values: Values, now: number): [string, ClusterValue][] {
  const wanted: [string, () => string][] = [
    [valueNames.initToken, () => generateBootstrapToken().token],
    [valueNames.certificateKey, () => randomBytes(32).toString('hex')],
    [valueNames.authPass, () => randomPass(8)],
  ];
  return wanted
    .filter(([name]) => values.get(name) === undefined)
    .map(([name, make]) => [name, { value: make(), secret: true, updatedAt: now }]);
}

function randomPass(length: number): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A control plane that is up in this run (init or joined), preferring the init node and connected agents. */
export function healthyControlPlane(
  steps: Iterable<StepRecord>,
  exclude: string,
  isConnected: (node: string) => boolean,
): string | undefined {
  const up: string[] = [];
  for (const s of steps) {
    if (s.state === 'succeeded' && s.node !== exclude && (s.kind === 'kubeadm-init' || isControlPlaneJoin(s))) {
      up.push(s.node);
    }
  }
  return up.find(isConnected) ?? up[0];
}

function credentialStep<K extends AgentStepKind>(
  join: StepRecord,
  id: string,
  kind: K,
  node: string,
  params: PlannedStepParams<K>,
  seq: number,
  extra: Partial<StepRecord> = {},
): StepRecord {
  return {
    runId: join.runId,
    id,
    seq,
    kind,
    node,
    dependsOn: [],
    timeoutSeconds: credentialTimeoutSeconds,
    retry: credentialRetry,
    params,
    concurrencyGroup: null,
    bestEffort: false,
    forNode: join.node,
    ...notStartedStep(),
    ...extra,
  };
}

/** The join's Kubernetes version, which picks the kubeadm config API of the credential steps' files. */
function kubernetesVersionOf(join: StepRecord): { kubernetesVersion?: string } {
  const version = join.params['kubernetesVersion'];
  return typeof version === 'string' ? { kubernetesVersion: version } : {};
}

function nextId(hasStep: (id: string) => boolean, prefix: string): string {
  let n = 1;
  while (hasStep(`${prefix}/${n}`)) n++;
  return `${prefix}/${n}`;
}

export interface JoinGate {
  /** Steps to insert (and make the join wait for) before the join may go out; empty when it may go now. */
  steps: StepRecord[];
  /** Values to store with them: a freshly generated token. */
  values: [string, ClusterValue][];
}

/**
 * Before a join goes out: a token of its own, made on a healthy control plane, unless a live one exists; before a
 * control-plane join, the certificates re-uploaded when the key is older than 100 minutes.
 */
export function joinCredentialGate(
  join: StepRecord,
  hasStep: (id: string) => boolean,
  values: Values,
  controlPlane: string,
  now: number,
  nextSeq: number,
): JoinGate {
  const out: JoinGate = { steps: [], values: [] };
  const token = values.get(valueNames.joinToken(join.node));
  const tokenLive =
    token !== undefined &&
    token.updatedAt > 0 &&
    now < token.updatedAt + joinTokenTtlSeconds * 1000 - joinTokenMarginMs;
  if (!tokenLive) {
    out.values.push([
      valueNames.joinToken(join.node),
      { value: generateBootstrapToken().token, secret: true, updatedAt: 0 },
    ]);
    out.steps.push(
      credentialStep(
        join,
        nextId(hasStep, `join-credentials/create-token/${join.node}`),
        'join-credentials',
        controlPlane,
        {
          action: 'create-token',
          ttlSeconds: joinTokenTtlSeconds,
          description: `kubeha join of ${join.node}`,
          ...kubernetesVersionOf(join),
        },
        nextSeq,
      ),
    );
  }
  if (isControlPlaneJoin(join)) {
    const key = values.get(valueNames.certificateKey);
    if (key && now - key.updatedAt > certificateKeyMaxAgeMs) {
      out.steps.push(
        credentialStep(
          join,
          nextId(hasStep, `join-credentials/upload-certs/${join.node}`),
          'join-credentials',
          controlPlane,
          {
            action: 'upload-certs',
            description: `kubeha certificates for ${join.node}`,
            ...kubernetesVersionOf(join),
          },
          nextSeq + out.steps.length,
        ),
      );
    }
  }
  return out;
}

/** After a join succeeded: its token is deleted (best effort: it expires anyway). */
export function tokenDeletionAfterJoin(
  join: StepRecord,
  hasStep: (id: string) => boolean,
  controlPlane: string,
  nextSeq: number,
): StepRecord | undefined {
  const id = `join-credentials/delete-token/${join.node}`;
  if (hasStep(id)) return undefined;
  return credentialStep(
    join,
    id,
    'join-credentials',
    controlPlane,
    { action: 'delete-token', description: `kubeha join of ${join.node}` },
    nextSeq,
    { dependsOn: [join.id], bestEffort: true },
  );
}

/**
 * A failed control-plane join leaves a half-made member: `kubeadm reset` on the node, then its etcd member removed
 * through a healthy control plane, before the retry: a second join beside a stale member would break etcd's quorum.
 */
export function cleanupAfterFailedControlPlaneJoin(
  join: StepRecord,
  spec: ClusterSpec,
  controlPlane: string,
  nextSeq: number,
): StepRecord[] {
  const address = spec.spec.nodes.find((n) => n.name === join.node)?.address ?? '';
  const cleanupId = `cleanup-failed-join/${join.node}/${join.attempt}`;
  return [
    credentialStep(join, cleanupId, 'kubeadm-reset', join.node, { nodeName: join.node }, nextSeq),
    credentialStep(
      join,
      `remove-etcd-member/${join.node}/${join.attempt}`,
      'remove-etcd-member',
      controlPlane,
      {
        memberName: join.node,
        memberPeerUrl: `https://${formatHostPort(address, 2380)}`,
      },
      nextSeq + 1,
      { dependsOn: [cleanupId] },
    ),
  ];
}
