import type { StepResult } from '../../common/step-events.ts';
import { loadBalancerPosition } from '../plan/load-balancer-position.ts';
import type { ClusterValue, StepRecord } from '../store/store.ts';

/** Names of the per-cluster values the scheduler keeps (store: cluster_values). */
export const valueNames = {
  initToken: 'init-token',
  certificateKey: 'certificate-key',
  authPass: 'auth-pass',
  caCertHash: 'ca-cert-hash',
  caCertPem: 'ca-cert-pem',
  kubeconfig: 'kubeconfig',
  /** The sha256 of the CNI manifest the cluster was first deployed with, when the spec pins none. */
  cniManifestPin: 'cni-manifest-pin',
  joinToken: (node: string) => `join-token/${node}`,
  /** What is left of a joined node's token: its id (not secret), enough to delete it from the cluster. */
  joinTokenId: (node: string) => `join-token-id/${node}`,
  /** The membership a node's keepalived and HAProxy were last configured with (load-balancer-position.ts). */
  loadBalancerPosition: (node: string) => `load-balancer-position/${node}`,
} as const;

/** The cluster's stored values, looked up by name. */
export interface Values {
  get(name: string): ClusterValue | undefined;
}

const pemHeader = '-----BEGIN CERTIFICATE-----';

interface CniManifestPin {
  plugin: string;
  /** The step's manifestUrl parameter: empty for the agent's default manifest of the plugin. */
  url: string;
  sha256: string;
}

function cniManifestPin(values: Values, step: StepRecord): CniManifestPin | undefined {
  const stored = values.get(valueNames.cniManifestPin)?.value;
  if (!stored) return undefined;
  const pin = JSON.parse(stored) as CniManifestPin;
  return pin.plugin === step.params['plugin'] && pin.url === (step.params['manifestUrl'] ?? '') ? pin : undefined;
}

/**
 * The cluster CA, when the coordinator has one: the certificate kubeadm-init reported, or else the
 * certificate-authority-data of a stored admin kubeconfig.
 */
export function clusterCaPem(values: Values): string | undefined {
  const reported = values.get(valueNames.caCertPem)?.value;
  if (reported) return reported;
  const kubeconfig = values.get(valueNames.kubeconfig)?.value;
  const data = kubeconfig && /certificate-authority-data:\s*"?([A-Za-z0-9+/=]+)/.exec(kubeconfig)?.[1];
  if (!data) return undefined;
  const pem = Buffer.from(data, 'base64').toString('utf8');
  return pem.includes(pemHeader) ? pem : undefined;
}

/** What a succeeded step changes in the cluster's values. */
export interface ValueChanges {
  set: [string, ClusterValue][];
  remove: string[];
  /** kubeadm init has made the cluster. */
  initialized: boolean;
}

/**
 * The values a succeeded step leaves behind: what kubeadm-init reports about the CA, any admin kubeconfig, the
 * age of the join token and certificate key the step made or used, and a used join token reduced to its id. A
 * value is only touched (its age reset) when it exists: the secret itself was made by the coordinator before the step.
 */
export function valueChangesAfterSuccess(
  step: StepRecord,
  result: Pick<StepResult, 'outputs' | 'changed'>,
  values: Values,
  now: number,
): ValueChanges {
  const changes: ValueChanges = { set: [], remove: [], initialized: false };
  const keep = (name: string, value: string, secret: boolean) =>
    changes.set.push([name, { value, secret, updatedAt: now }]);
  const touch = (name: string) => {
    const current = values.get(name);
    if (current) changes.set.push([name, { ...current, updatedAt: now }]);
  };
  const { outputs } = result;
  if (step.kind === 'kubeadm-init') {
    const hash = outputs['caCertHash'];
    if (hash) keep(valueNames.caCertHash, hash, false);
    const caPem = outputs['caCertPem'];
    if (caPem?.includes(pemHeader)) keep(valueNames.caCertPem, caPem, false);
    // kubeadm init --upload-certs uploaded the certificates under this key just now (unless it was up already).
    if (result.changed) touch(valueNames.certificateKey);
    changes.initialized = true;
  }
  if (outputs['kubeconfig']) keep(valueNames.kubeconfig, outputs['kubeconfig'], true);
  if (step.kind === 'cni' && !step.params['manifestSha256'] && /^[0-9a-f]{64}$/.test(outputs['manifestSha256'] ?? '')) {
    // Trust on first use: the manifest this cluster was built with is the only one its later runs accept.
    const pin: CniManifestPin = {
      plugin: String(step.params['plugin']),
      url: String(step.params['manifestUrl'] ?? ''),
      sha256: outputs['manifestSha256']!,
    };
    if (!cniManifestPin(values, step)) keep(valueNames.cniManifestPin, JSON.stringify(pin), false);
  }
  if (step.kind === 'join-credentials') {
    const action = step.params['action'];
    if (action === 'create-token' && step.forNode) touch(valueNames.joinToken(step.forNode));
    if (action === 'upload-certs') touch(valueNames.certificateKey);
    if (action === 'delete-token' && step.forNode) {
      changes.remove.push(valueNames.joinToken(step.forNode), valueNames.joinTokenId(step.forNode));
    }
  }
  if (step.kind === 'load-balancer')
    keep(valueNames.loadBalancerPosition(step.node), loadBalancerPosition(step.params), false);
  if (step.kind === 'leave-load-balancer') changes.remove.push(valueNames.loadBalancerPosition(step.node));
  if (step.kind === 'kubeadm-join') {
    // The joined node's token is no longer needed; only its id stays, to delete it from the cluster.
    const token = values.get(valueNames.joinToken(step.node));
    if (token) {
      keep(valueNames.joinTokenId(step.node), token.value.slice(0, 6), false);
      changes.remove.push(valueNames.joinToken(step.node));
    }
  }
  return changes;
}

/**
 * The parameters sent to the agent: the planned ones plus the secrets and values only known at run time.
 * Returns the name of a missing value instead when one is not there yet.
 */
export function paramsForDispatch(
  step: StepRecord,
  values: Values,
): { params: Record<string, unknown> } | { missing: string } {
  const params: Record<string, unknown> = { ...step.params };
  const need = (name: string): string | undefined => values.get(name)?.value;
  const fill = (param: string, name: string): string | undefined => {
    const value = need(name);
    if (value === undefined) return name;
    params[param] = value;
    return undefined;
  };
  let missing: string | undefined;
  switch (step.kind) {
    case 'kubeadm-init':
      missing = fill('bootstrapToken', valueNames.initToken) ?? fill('certificateKey', valueNames.certificateKey);
      break;
    case 'kubeadm-join': {
      missing = fill('bootstrapToken', valueNames.joinToken(step.node));
      const hash = need(valueNames.caCertHash);
      if (hash === undefined) missing ??= valueNames.caCertHash;
      else params['caCertHashes'] = [hash];
      if (step.params['controlPlane'] === true) missing ??= fill('certificateKey', valueNames.certificateKey);
      break;
    }
    case 'load-balancer':
      missing = fill('authPass', valueNames.authPass);
      break;
    case 'cni': {
      const pin = step.params['manifestSha256'] ? undefined : cniManifestPin(values, step);
      if (pin) params['manifestSha256'] = pin.sha256;
      break;
    }
    case 'join-credentials':
      if (step.params['action'] === 'upload-certs') missing = fill('certificateKey', valueNames.certificateKey);
      else if (step.params['action'] === 'delete-token' && step.forNode && need(valueNames.joinTokenId(step.forNode)))
        missing = fill('token', valueNames.joinTokenId(step.forNode));
      else if (step.forNode) missing = fill('token', valueNames.joinToken(step.forNode));
      break;
  }
  return missing === undefined ? { params } : { missing };
}
