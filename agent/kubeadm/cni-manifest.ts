import { type Document, isMap, isSeq, parseAllDocuments } from 'yaml';
import { kubernetesYamlOptions } from './kubeadm-config.ts';

export type CniPlugin = 'flannel' | 'calico';

export interface CniManifest {
  /** The manifest with the pod CIDR set, ready for kubectl apply. */
  text: string;
  /** The DaemonSet whose rollout says the CNI runs. */
  daemonSet: { namespace: string; name: string };
}

class ManifestError extends Error {}

function findDaemonSet(docs: Document[], name?: string): Document | undefined {
  return docs.find(
    (d) => d.get('kind') === 'DaemonSet' && (name === undefined || d.getIn(['metadata', 'name']) === name),
  );
}

function setFlannelNetwork(docs: Document[], podCidr: string): void {
  const config = docs.find(
    (d) => d.get('kind') === 'ConfigMap' && typeof d.getIn(['data', 'net-conf.json']) === 'string',
  );
  if (!config) throw new ManifestError('no ConfigMap with net-conf.json (is this kube-flannel.yml?)');
  const netConf = JSON.parse(String(config.getIn(['data', 'net-conf.json']))) as Record<string, unknown>;
  netConf.Network = podCidr;
  config.setIn(['data', 'net-conf.json'], `${JSON.stringify(netConf, null, 2)}\n`);
}

function setCalicoPool(docs: Document[], podCidr: string): void {
  const daemonSet = findDaemonSet(docs, 'calico-node');
  if (!daemonSet) {
    throw new ManifestError(
      'no calico-node DaemonSet (use the calico.yaml manifest; the operator install is not supported)',
    );
  }
  const containers = daemonSet.getIn(['spec', 'template', 'spec', 'containers']);
  const index = isSeq(containers) ? containers.items.findIndex((c) => isMap(c) && c.get('name') === 'calico-node') : -1;
  if (index < 0) throw new ManifestError('the calico-node DaemonSet has no calico-node container');
  const envPath = ['spec', 'template', 'spec', 'containers', index, 'env'];
  const env = daemonSet.getIn(envPath);
  const envIndex = isSeq(env) ? env.items.findIndex((e) => isMap(e) && e.get('name') === 'CALICO_IPV4POOL_CIDR') : -1;
  // Calico reads the pool CIDR only when it first creates the pool: it must be right on the first apply.
  if (envIndex >= 0) daemonSet.setIn([...envPath, envIndex, 'value'], podCidr);
  else if (isSeq(env)) daemonSet.addIn(envPath, { name: 'CALICO_IPV4POOL_CIDR', value: podCidr });
  else daemonSet.setIn(envPath, [{ name: 'CALICO_IPV4POOL_CIDR', value: podCidr }]);
}

/** The CNI manifest with its pod network set to the cluster's pod CIDR: flannel's net-conf.json Network, calico's CALICO_IPV4POOL_CIDR. */
export function renderCniManifest(plugin: CniPlugin, source: string, podCidr: string): CniManifest {
  const parsed = parseAllDocuments(source);
  const docs: Document[] = (Array.isArray(parsed) ? parsed : []).filter((d) => d.contents !== null);
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`the ${plugin} manifest is not valid YAML: ${d.errors[0]?.message}`);
  }
  try {
    if (plugin === 'flannel') setFlannelNetwork(docs, podCidr);
    else setCalicoPool(docs, podCidr);
  } catch (error) {
    if (error instanceof ManifestError) throw new Error(`the ${plugin} manifest has ${error.message}`);
    throw error;
  }
  const daemonSet = findDaemonSet(docs, plugin === 'calico' ? 'calico-node' : undefined);
  const name = daemonSet?.getIn(['metadata', 'name']);
  if (typeof name !== 'string') throw new Error(`the ${plugin} manifest has no DaemonSet`);
  const namespace = daemonSet?.getIn(['metadata', 'namespace']);
  return {
    text: docs.map((d) => d.toString(kubernetesYamlOptions).replace(/^---\n/, '')).join('---\n'),
    daemonSet: { namespace: typeof namespace === 'string' ? namespace : 'default', name },
  };
}

/** NetworkManager must not manage the interfaces calico creates (calico's troubleshooting guide). */
export const calicoNetworkManagerConf = `[keyfile]
unmanaged-devices=interface-name:cali*;interface-name:tunl*;interface-name:vxlan.calico;interface-name:vxlan-v6.calico;interface-name:wireguard.cali;interface-name:wg-v6.cali
`;
