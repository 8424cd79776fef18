import { parseDocument } from 'yaml';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { coordinatorNode } from '../plan/run-plan.ts';
import type {
  ClusterNodeSpec,
  ClusterSpec,
  CniManifestSpec,
  EndpointMode,
  MirrorsSpec,
  NodeRole,
  PackageRepositorySpec,
} from './cluster-spec.ts';
import {
  bitsOf,
  formatIp,
  type IpAddress,
  type IpNetwork,
  networkContains,
  networkOf,
  networksOverlap,
  parseCidr,
  parseIp,
  splitPrefix,
  unusableAddressReason,
} from './ip-address.ts';

/**
 * The Kubernetes minors kubeha installs (pkgs.k8s.io serves one repository per minor): the ones whose kubeadm
 * accepted the configurations the agent renders, from the oldest release the lab runs to the newest published.
 */
export const supportedKubernetesMinors = { min: 34, max: 37 } as const;

export const clusterSpecDefaults = {
  mode: 'haproxy-keepalived',
  haproxyPort: 16443,
  keepalivedPort: 6443,
  virtualRouterId: 51,
  podCIDR: '10.244.0.0/16',
  serviceCIDR: '10.96.0.0/12',
  cni: 'flannel',
  firewall: 'managed',
  selinux: 'permissive',
  workers: 10,
} as const;

const endpointModes = ['haproxy-keepalived', 'keepalived', 'external'] as const;
const nodeRoles = ['control-plane', 'worker', 'load-balancer'] as const;
const apiserverPort = 6443;
/** kube-controller-manager's default --node-cidr-mask-size: each node gets a /24 (IPv4) or /64 (IPv6) of the pod CIDR. */
const nodePodPrefix = { 4: 24, 6: 64 } as const;
/** kube-apiserver refuses a service range of more than 20 host bits. */
const maxServiceHostBits = 20;

const rfc1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const linuxInterfaceName = /^[A-Za-z0-9_.-]{1,15}$/;
const kubernetesVersionPattern = /^(\d+)\.(\d+)\.(\d+)$/;

export type ParseClusterSpecResult = { ok: true; spec: ClusterSpec } | { ok: false; problems: string[] };

type Json = Record<string, unknown>;

/** Collects "path: what is wrong" lines; readers record a problem and return undefined for a bad field. */
class SpecReader {
  readonly problems: string[] = [];

  problem(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  object(value: unknown, path: string, allowed: readonly string[]): Json | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.problem(path, 'must be an object');
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.problem(join(path, key), 'unknown field');
    }
    return value as Json;
  }

  /** A nested object that may be absent (then all its fields take their defaults). */
  optionalObject(parent: Json | undefined, key: string, path: string, allowed: readonly string[]): Json | undefined {
    const value = parent?.[key];
    if (value === undefined) return {};
    return this.object(value, join(path, key), allowed);
  }

  string(parent: Json | undefined, key: string, path: string, fallback?: string): string | undefined {
    if (!parent) return undefined;
    const value = parent[key];
    if (value === undefined) {
      if (fallback === undefined) this.problem(join(path, key), 'required');
      return fallback;
    }
    if (typeof value !== 'string') {
      this.problem(join(path, key), `must be a string, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(
    parent: Json | undefined,
    key: string,
    path: string,
    values: readonly T[],
    fallback?: T,
  ): T | undefined {
    const value = this.string(parent, key, path, fallback);
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) {
      this.problem(join(path, key), `"${value}" is not one of ${values.join(', ')}`);
      return undefined;
    }
    return value as T;
  }

  integer(
    parent: Json | undefined,
    key: string,
    path: string,
    range: { min: number; max?: number },
    fallback?: number,
  ): number | undefined {
    if (!parent) return undefined;
    const value = parent[key];
    if (value === undefined) {
      if (fallback === undefined) this.problem(join(path, key), 'required');
      return fallback;
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.problem(join(path, key), `must be an integer, got ${describe(value)}`);
      return undefined;
    }
    if (value < range.min || (range.max !== undefined && value > range.max)) {
      const bounds = range.max === undefined ? `at least ${range.min}` : `between ${range.min} and ${range.max}`;
      this.problem(join(path, key), `must be ${bounds}, got ${value}`);
      return undefined;
    }
    return value;
  }

  boolean(parent: Json | undefined, key: string, path: string, fallback: boolean): boolean | undefined {
    if (!parent) return undefined;
    const value = parent[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.problem(join(path, key), `must be true or false, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

interface DraftNode {
  path: string;
  name?: string;
  addressText?: string;
  ip?: IpAddress;
  prefixLength?: number;
  role?: NodeRole;
  interface?: string;
}

function readNode(reader: SpecReader, value: unknown, path: string): DraftNode {
  const node = reader.object(value, path, ['name', 'address', 'role', 'interface']);
  const draft: DraftNode = { path };
  if (!node) return draft;
  const name = reader.string(node, 'name', path);
  if (name !== undefined) {
    const problem =
      name === coordinatorNode
        ? `"${coordinatorNode}" is reserved: the coordinator's own steps run on a node of that name`
        : rfc1123SubdomainProblem(name);
    if (problem) reader.problem(`${path}.name`, problem);
    else draft.name = name;
  }
  const address = reader.string(node, 'address', path);
  if (address !== undefined) {
    const parsed = readAddress(reader, address, `${path}.address`);
    if (parsed) {
      draft.addressText = address;
      draft.ip = parsed.ip;
      draft.prefixLength = parsed.prefixLength;
    }
  }
  draft.role = reader.oneOf(node, 'role', path, nodeRoles);
  if (node.interface !== undefined) {
    const name = reader.string(node, 'interface', path);
    if (name !== undefined) {
      const problem = interfaceNameProblem(name);
      if (problem) reader.problem(`${path}.interface`, problem);
      else draft.interface = name;
    }
  }
  return draft;
}

/** An address "192.168.1.10" or "192.168.1.10/24" usable by a host. */
function readAddress(
  reader: SpecReader,
  text: string,
  path: string,
): { ip: IpAddress; prefixLength?: number } | undefined {
  const { address, prefixLength, prefixText } = splitPrefix(text);
  const ip = parseIp(address);
  if (!ip) {
    reader.problem(path, `"${text}" is not an IPv4 or IPv6 address`);
    return undefined;
  }
  if (prefixLength !== undefined && (Number.isNaN(prefixLength) || prefixLength > bitsOf(ip.family))) {
    reader.problem(path, `"/${prefixText}" is not a prefix length (0-${bitsOf(ip.family)})`);
    return undefined;
  }
  const unusable = unusableAddressReason(ip);
  if (unusable) {
    reader.problem(path, `${address} is ${unusable}`);
    return undefined;
  }
  return prefixLength === undefined ? { ip } : { ip, prefixLength };
}

function rfc1123SubdomainProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 253) return `"${name}" is longer than 253 characters`;
  const bad = name.split('.').find((label) => label.length > 63 || !rfc1123Label.test(label));
  if (bad !== undefined) {
    return `"${name}" is not an RFC 1123 name (lowercase letters, digits and "-", starting and ending with a letter or digit, labels of at most 63 characters separated by ".")`;
  }
  return undefined;
}

function rfc1123LabelProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > 63 || !rfc1123Label.test(name)) {
    return `"${name}" is not an RFC 1123 label (at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit)`;
  }
  return undefined;
}

function interfaceNameProblem(name: string): string | undefined {
  if (!linuxInterfaceName.test(name) || name === '.' || name === '..') {
    return `"${name}" is not a Linux interface name (1-15 characters of letters, digits, "_", "." and "-")`;
  }
  return undefined;
}

function kubernetesVersionProblem(version: string): string | undefined {
  const match = kubernetesVersionPattern.exec(version);
  if (!match) return `"${version}" is not a version X.Y.Z (e.g. "1.34.4", quoted, without a "v")`;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const { min, max } = supportedKubernetesMinors;
  if (major !== 1 || minor < min || minor > max) {
    return `${version} is outside the supported range 1.${min}-1.${max}`;
  }
  return undefined;
}

function readCidr(reader: SpecReader, text: string | undefined, path: string): IpNetwork | undefined {
  if (text === undefined) return undefined;
  const parsed = parseCidr(text);
  if (!parsed.ok) {
    reader.problem(path, parsed.problem);
    return undefined;
  }
  return parsed.network;
}

/** Where the CNI manifest comes from and the sha256 it must have; https only unless allowHttp says otherwise. */
function readCniManifest(reader: SpecReader, networking: Json | undefined): CniManifestSpec | undefined {
  if (networking?.['cniManifest'] === undefined) return undefined;
  const path = 'spec.networking.cniManifest';
  const manifest = reader.object(networking['cniManifest'], path, ['url', 'sha256', 'allowHttp']);
  if (!manifest) return undefined;
  const url = manifest['url'] === undefined ? undefined : reader.string(manifest, 'url', path);
  const sha256 = manifest['sha256'] === undefined ? undefined : reader.string(manifest, 'sha256', path);
  const allowHttp = reader.boolean(manifest, 'allowHttp', path, false) ?? false;
  if (url !== undefined) {
    if (!/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~:/%+@!=,-]*)?$/.test(url)) {
      reader.problem(`${path}.url`, 'not an http(s) URL');
    } else if (url.startsWith('http://') && !allowHttp) {
      reader.problem(
        `${path}.url`,
        'http:// downloads can be altered on the way: use https://, or set allowHttp: true',
      );
    }
  }
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) {
    reader.problem(`${path}.sha256`, 'must be 64 lowercase hex digits (sha256sum of the manifest)');
  }
  return {
    ...(url !== undefined ? { url } : {}),
    ...(sha256 !== undefined ? { sha256 } : {}),
    allowHttp,
  };
}

const urlPattern = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~:/%+@!=,-]*)?$/;
const registryPattern = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$/;
const imageRepositoryPattern = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/;

function readUrl(reader: SpecReader, parent: Json, key: string, path: string, required: boolean): string | undefined {
  if (parent[key] === undefined && !required) return undefined;
  const url = reader.string(parent, key, path);
  if (url !== undefined && !urlPattern.test(url)) {
    reader.problem(join(path, key), `"${url}" is not an http(s) URL (no spaces, quotes or shell characters)`);
    return undefined;
  }
  return url;
}

function readPackageRepository(reader: SpecReader, parent: Json, key: string): PackageRepositorySpec | undefined {
  if (parent[key] === undefined) return undefined;
  const path = `spec.mirrors.${key}`;
  const repo = reader.object(parent[key], path, ['baseUrl', 'gpgKeyUrl']);
  if (!repo) return undefined;
  const baseUrl = readUrl(reader, repo, 'baseUrl', path, true);
  const gpgKeyUrl = repo['gpgKeyUrl'] === 'none' ? 'none' : readUrl(reader, repo, 'gpgKeyUrl', path, false);
  if (baseUrl === undefined) return undefined;
  return { baseUrl, ...(gpgKeyUrl !== undefined ? { gpgKeyUrl } : {}) };
}

/** Mirrors of the package repositories and the image registries, for sites that cannot reach the public ones. */
function readMirrors(reader: SpecReader, spec: Json | undefined): MirrorsSpec | undefined {
  if (spec?.['mirrors'] === undefined) return undefined;
  const path = 'spec.mirrors';
  const mirrors = reader.object(spec['mirrors'], path, [
    'kubernetesPackages',
    'containerRuntimePackages',
    'imageRepository',
    'registries',
  ]);
  if (!mirrors) return undefined;
  const kubernetesPackages = readPackageRepository(reader, mirrors, 'kubernetesPackages');
  const containerRuntimePackages = readPackageRepository(reader, mirrors, 'containerRuntimePackages');
  const imageRepository =
    mirrors['imageRepository'] === undefined ? undefined : reader.string(mirrors, 'imageRepository', path);
  if (imageRepository !== undefined && !imageRepositoryPattern.test(imageRepository)) {
    reader.problem(
      `${path}.imageRepository`,
      `"${imageRepository}" is not a registry host[:port][/path] (lowercase, no scheme, no tag)`,
    );
  }
  const registries: MirrorsSpec['registries'] = [];
  const list = mirrors['registries'];
  if (list !== undefined && !Array.isArray(list)) {
    reader.problem(`${path}.registries`, `must be a list, got ${describe(list)}`);
  } else if (Array.isArray(list)) {
    list.forEach((value, index) => {
      const itemPath = `${path}.registries[${index}]`;
      const item = reader.object(value, itemPath, ['registry', 'endpoints']);
      if (!item) return;
      const registry = reader.string(item, 'registry', itemPath);
      if (registry !== undefined && !registryPattern.test(registry)) {
        reader.problem(`${itemPath}.registry`, `"${registry}" is not a registry host[:port] (e.g. docker.io)`);
      }
      const endpoints = item['endpoints'];
      if (!Array.isArray(endpoints) || endpoints.length === 0) {
        reader.problem(`${itemPath}.endpoints`, 'must be a list of at least one http(s) URL');
        return;
      }
      const urls: string[] = [];
      endpoints.forEach((e: unknown, i) => {
        if (typeof e === 'string' && urlPattern.test(e)) urls.push(e);
        else reader.problem(`${itemPath}.endpoints[${i}]`, `${describe(e)} is not an http(s) URL`);
      });
      if (registry !== undefined && urls.length === endpoints.length) registries.push({ registry, endpoints: urls });
    });
  }
  return {
    ...(kubernetesPackages ? { kubernetesPackages } : {}),
    ...(containerRuntimePackages ? { containerRuntimePackages } : {}),
    ...(imageRepository !== undefined ? { imageRepository } : {}),
    registries,
  };
}

function parseInput(input: unknown, reader: SpecReader): unknown {
  if (typeof input !== 'string') return input;
  const document = parseDocument(input, { prettyErrors: true });
  if (document.errors.length > 0) {
    for (const error of document.errors) {
      // With prettyErrors the first line ends "at line L, column C:" and the next lines quote the source.
      reader.problem('(document)', `not valid YAML or JSON: ${error.message.split('\n')[0]!.replace(/:$/, '')}`);
    }
    return undefined;
  }
  try {
    // A spec has no use for many aliases; a chain of them (a "billion laughs") would expand without bound.
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    reader.problem('(document)', `not a usable YAML document: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/**
 * Parses and validates a cluster spec (YAML or JSON text, or an already parsed object), filling in defaults.
 * Never throws for bad input: every problem is returned at once as "path: what is wrong".
 */
export function parseClusterSpec(input: unknown): ParseClusterSpecResult {
  try {
    return parseAndValidate(input);
  } catch (error) {
    return { ok: false, problems: [`(document): cannot be read as a cluster spec: ${(error as Error).message}`] };
  }
}

function parseAndValidate(input: unknown): ParseClusterSpecResult {
  const reader = new SpecReader();
  const raw = parseInput(input, reader);
  if (reader.problems.length > 0) return { ok: false, problems: reader.problems };

  const root = reader.object(raw, '(root)', ['apiVersion', 'kind', 'metadata', 'spec']);
  if (!root) return { ok: false, problems: reader.problems };
  const apiVersion = reader.string(root, 'apiVersion', '');
  if (apiVersion !== undefined && apiVersion !== 'kubeha.io/v1') {
    reader.problem('apiVersion', `"${apiVersion}" is not kubeha.io/v1`);
  }
  const kind = reader.string(root, 'kind', '');
  if (kind !== undefined && kind !== 'Cluster') reader.problem('kind', `"${kind}" is not Cluster`);

  const metadata = root.metadata === undefined ? undefined : reader.object(root.metadata, 'metadata', ['name']);
  if (root.metadata === undefined) reader.problem('metadata', 'required');
  const clusterName = reader.string(metadata, 'name', 'metadata');
  if (clusterName !== undefined) {
    const problem = rfc1123LabelProblem(clusterName);
    if (problem) reader.problem('metadata.name', problem);
  }

  if (root.spec === undefined) {
    reader.problem('spec', 'required');
    return { ok: false, problems: reader.problems };
  }
  const spec = reader.object(root.spec, 'spec', [
    'kubernetesVersion',
    'endpoint',
    'networking',
    'hostPolicy',
    'concurrency',
    'allowEvenControlPlanes',
    'nodes',
    'mirrors',
  ]);

  let kubernetesVersion: string | undefined;
  if (typeof spec?.kubernetesVersion === 'number') {
    // YAML reads an unquoted 1.31 as a number.
    reader.problem('spec.kubernetesVersion', `must be a quoted string X.Y.Z, got number ${spec.kubernetesVersion}`);
  } else {
    kubernetesVersion = reader.string(spec, 'kubernetesVersion', 'spec');
    const problem = kubernetesVersion === undefined ? undefined : kubernetesVersionProblem(kubernetesVersion);
    if (problem) {
      reader.problem('spec.kubernetesVersion', problem);
      kubernetesVersion = undefined;
    }
  }

  // Nodes first: the endpoint and networking checks compare against them.
  const nodes: DraftNode[] = [];
  if (spec) {
    if (spec.nodes === undefined) reader.problem('spec.nodes', 'required');
    else if (!Array.isArray(spec.nodes)) reader.problem('spec.nodes', `must be a list, got ${describe(spec.nodes)}`);
    else if (spec.nodes.length === 0) reader.problem('spec.nodes', 'must list at least one node');
    else nodes.push(...spec.nodes.map((value, index) => readNode(reader, value, `spec.nodes[${index}]`)));
  }

  const endpoint =
    spec?.endpoint === undefined
      ? undefined
      : reader.object(spec.endpoint, 'spec.endpoint', [
          'mode',
          'vip',
          'port',
          'interface',
          'virtualRouterId',
          'multicast',
        ]);
  if (spec && spec.endpoint === undefined) reader.problem('spec.endpoint', 'required');
  const mode = reader.oneOf<EndpointMode>(endpoint, 'mode', 'spec.endpoint', endpointModes, clusterSpecDefaults.mode);
  const vrrp = mode === 'haproxy-keepalived' || mode === 'keepalived';
  const vipText = reader.string(endpoint, 'vip', 'spec.endpoint');
  const vip = vipText === undefined ? undefined : readAddress(reader, vipText, 'spec.endpoint.vip');
  const defaultPort = mode === 'keepalived' ? clusterSpecDefaults.keepalivedPort : clusterSpecDefaults.haproxyPort;
  const port = reader.integer(endpoint, 'port', 'spec.endpoint', { min: 1, max: 65535 }, defaultPort);
  let endpointInterface: string | undefined = '';
  // An unknown mode is already a problem; then only the interface's own form is checked.
  if (endpoint && (vrrp || (mode === undefined && endpoint.interface !== undefined))) {
    endpointInterface = reader.string(endpoint, 'interface', 'spec.endpoint');
    if (endpointInterface !== undefined) {
      const problem = interfaceNameProblem(endpointInterface);
      if (problem) {
        reader.problem('spec.endpoint.interface', problem);
        endpointInterface = undefined;
      }
    }
  } else if (mode === 'external' && endpoint?.interface !== undefined) {
    reader.problem('spec.endpoint.interface', 'only meaningful in modes haproxy-keepalived and keepalived');
  }
  const virtualRouterId = reader.integer(
    endpoint,
    'virtualRouterId',
    'spec.endpoint',
    { min: 1, max: 255 },
    clusterSpecDefaults.virtualRouterId,
  );
  const multicast = reader.boolean(endpoint, 'multicast', 'spec.endpoint', false);

  const networking = reader.optionalObject(spec, 'networking', 'spec', [
    'podCIDR',
    'serviceCIDR',
    'cni',
    'cniManifest',
    'checkPodTraffic',
  ]);
  const podCIDR = reader.string(networking, 'podCIDR', 'spec.networking', clusterSpecDefaults.podCIDR);
  const serviceCIDR = reader.string(networking, 'serviceCIDR', 'spec.networking', clusterSpecDefaults.serviceCIDR);
  const cni = reader.oneOf(
    networking,
    'cni',
    'spec.networking',
    ['flannel', 'calico'] as const,
    clusterSpecDefaults.cni,
  );
  const cniManifest = readCniManifest(reader, networking);
  const checkPodTraffic = reader.boolean(networking, 'checkPodTraffic', 'spec.networking', true);

  const hostPolicy = reader.optionalObject(spec, 'hostPolicy', 'spec', [
    'firewall',
    'selinux',
    'allowErasing',
    'allowCgroupV1',
  ]);
  const firewall = reader.oneOf(
    hostPolicy,
    'firewall',
    'spec.hostPolicy',
    ['managed', 'disabled'] as const,
    clusterSpecDefaults.firewall,
  );
  const selinux = reader.oneOf(
    hostPolicy,
    'selinux',
    'spec.hostPolicy',
    ['permissive', 'enforcing'] as const,
    clusterSpecDefaults.selinux,
  );
  const allowCgroupV1 = reader.boolean(hostPolicy, 'allowCgroupV1', 'spec.hostPolicy', false);

  const allowErasing = reader.boolean(hostPolicy, 'allowErasing', 'spec.hostPolicy', false);

  const concurrency = reader.optionalObject(spec, 'concurrency', 'spec', ['workers']);
  const workers = reader.integer(concurrency, 'workers', 'spec.concurrency', { min: 1 }, clusterSpecDefaults.workers);
  const allowEvenControlPlanes = reader.boolean(spec, 'allowEvenControlPlanes', 'spec', false);
  const mirrors = readMirrors(reader, spec);

  checkNodes(reader, nodes, { mode, allowEvenControlPlanes });
  checkEndpoint(reader, nodes, { mode, vip: vip?.ip, vipPrefixLength: vip?.prefixLength, port });
  const podNetwork = readCidr(reader, podCIDR, 'spec.networking.podCIDR');
  const serviceNetwork = readCidr(reader, serviceCIDR, 'spec.networking.serviceCIDR');
  checkNetworks(reader, nodes, { pod: podNetwork, service: serviceNetwork, vip: vip?.ip });

  if (reader.problems.length > 0) return { ok: false, problems: reader.problems };

  const endpointSpec: ClusterSpec['spec']['endpoint'] = {
    mode: mode!,
    vip: canonical(vip!.ip),
    port: port!,
    interface: endpointInterface!,
    virtualRouterId: virtualRouterId!,
    multicast: multicast!,
  };
  if (vip!.prefixLength !== undefined) endpointSpec.vipPrefixLength = vip!.prefixLength;
  return {
    ok: true,
    spec: {
      apiVersion: 'kubeha.io/v1',
      kind: 'Cluster',
      metadata: { name: clusterName! },
      spec: {
        kubernetesVersion: kubernetesVersion!,
        endpoint: endpointSpec,
        networking: {
          podCIDR: podCIDR!,
          serviceCIDR: serviceCIDR!,
          cni: cni!,
          ...(cniManifest ? { cniManifest } : {}),
          ...(checkPodTraffic === false ? { checkPodTraffic: false } : {}),
        },
        hostPolicy: {
          firewall: firewall!,
          selinux: selinux!,
          allowErasing: allowErasing ?? false,
          allowCgroupV1: allowCgroupV1!,
        },
        concurrency: { workers: workers! },
        allowEvenControlPlanes: allowEvenControlPlanes!,
        nodes: nodes.map(toNodeSpec),
        ...(mirrors ? { mirrors } : {}),
      },
    },
  };
}

/** As parseClusterSpec, for callers that want an exception: KubehaError(specInvalid) with details = problems. */
export function requireClusterSpec(input: unknown): ClusterSpec {
  const result = parseClusterSpec(input);
  if (!result.ok) {
    throw new KubehaError(ErrorCode.specInvalid, `the cluster spec is invalid:\n  ${result.problems.join('\n  ')}`, {
      details: result.problems,
    });
  }
  return result.spec;
}

/** One spelling per address ("FD00:0::11" -> "fd00::11"), so that addresses compare as strings downstream. */
function canonical(ip: IpAddress): string {
  return formatIp(ip.family, ip.value);
}

function toNodeSpec(node: DraftNode): ClusterNodeSpec {
  const spec: ClusterNodeSpec = { name: node.name!, address: canonical(node.ip!), role: node.role! };
  if (node.prefixLength !== undefined) spec.prefixLength = node.prefixLength;
  if (node.interface !== undefined) spec.interface = node.interface;
  return spec;
}

function checkNodes(
  reader: SpecReader,
  nodes: DraftNode[],
  options: { mode: EndpointMode | undefined; allowEvenControlPlanes: boolean | undefined },
): void {
  const firstByName = new Map<string, DraftNode>();
  const firstByAddress = new Map<bigint, DraftNode>();
  for (const node of nodes) {
    if (node.name !== undefined) {
      const first = firstByName.get(node.name);
      if (first) reader.problem(`${node.path}.name`, `"${node.name}" is already the name of ${first.path}`);
      else firstByName.set(node.name, node);
    }
    if (node.ip) {
      const key = (BigInt(node.ip.family) << 128n) | node.ip.value;
      const first = firstByAddress.get(key);
      if (first) reader.problem(`${node.path}.address`, `${node.ip.text} is already the address of ${first.path}`);
      else firstByAddress.set(key, node);
    }
  }

  const families = new Set(nodes.flatMap((n) => (n.ip ? [n.ip.family] : [])));
  if (families.size > 1) reader.problem('spec.nodes', 'mixes IPv4 and IPv6 node addresses; use one family');

  if (nodes.length === 0 || nodes.some((n) => n.role === undefined)) return;
  const controlPlanes = nodes.filter((n) => n.role === 'control-plane');
  if (controlPlanes.length === 0) {
    reader.problem('spec.nodes', 'no node has role control-plane; at least one is needed');
  } else if (controlPlanes.length % 2 === 0 && options.allowEvenControlPlanes === false) {
    reader.problem(
      'spec.nodes',
      `${controlPlanes.length} control planes: etcd needs an odd number (an even one tolerates no more failures than one fewer); set spec.allowEvenControlPlanes to accept it`,
    );
  }
  const loadBalancers = nodes.filter((n) => n.role === 'load-balancer');
  if (loadBalancers.length > 0 && options.mode !== undefined && options.mode !== 'haproxy-keepalived') {
    for (const node of loadBalancers) {
      reader.problem(
        `${node.path}.role`,
        `load-balancer nodes exist only in mode haproxy-keepalived, not ${options.mode}`,
      );
    }
  } else if (loadBalancers.length === 1) {
    reader.problem(
      'spec.nodes',
      `one load-balancer node (${loadBalancers[0]!.path}); at least two are needed for the VIP to fail over`,
    );
  }
}

/** The nodes keepalived runs on: the load-balancer nodes when there are any, else the control planes. */
function vipHolders(nodes: DraftNode[]): DraftNode[] {
  const loadBalancers = nodes.filter((n) => n.role === 'load-balancer');
  return loadBalancers.length > 0 ? loadBalancers : nodes.filter((n) => n.role === 'control-plane');
}

function checkEndpoint(
  reader: SpecReader,
  nodes: DraftNode[],
  endpoint: { mode: EndpointMode | undefined; vip?: IpAddress; vipPrefixLength?: number; port: number | undefined },
): void {
  const { mode, vip, port } = endpoint;
  // Dedicated load-balancer nodes could use 6443, but one rule for both layouts keeps a later move of HAProxy onto
  // the control planes possible, and the agent refuses 6443 for HAProxy anywhere.
  if (mode === 'haproxy-keepalived' && port === apiserverPort) {
    reader.problem(
      'spec.endpoint.port',
      `HAProxy cannot listen on ${apiserverPort}: kube-apiserver binds it on the control planes (default 16443)`,
    );
  }
  if (mode === 'keepalived' && port !== undefined && port !== apiserverPort) {
    reader.problem(
      'spec.endpoint.port',
      `must be ${apiserverPort} in mode keepalived: the VIP lands on a control plane and kube-apiserver listens on ${apiserverPort}`,
    );
  }
  if (!vip) return;
  for (const node of nodes) {
    if (node.ip && node.ip.family === vip.family && node.ip.value === vip.value) {
      reader.problem('spec.endpoint.vip', `${vip.text} is the address of ${node.path}; the VIP must be a free address`);
    }
  }
  if (mode === 'external') return;
  const outside = new Map<string, string[]>();
  const outsideVipPrefix: string[] = [];
  const edge = new Map<string, string[]>();
  const note = (groups: Map<string, string[]>, subnet: string, path: string) =>
    groups.set(subnet, [...(groups.get(subnet) ?? []), path]);
  const vipNet = endpoint.vipPrefixLength === undefined ? undefined : networkOf(vip, endpoint.vipPrefixLength);
  for (const node of vipHolders(nodes)) {
    // A node whose VIP sits on another interface (its own `interface`) need not share a subnet with the VIP.
    if (!node.ip || node.interface !== undefined) continue;
    if (vipNet && !networkContains(vipNet, node.ip)) {
      outsideVipPrefix.push(`${node.path} (${node.ip.text})`);
      continue;
    }
    if (node.prefixLength === undefined) continue;
    const net = networkOf(node.ip, node.prefixLength);
    if (!networkContains(net, vip)) {
      note(outside, subnetText(net), node.path);
    } else if (vip.family === 4 && node.prefixLength < 31) {
      const hostMask = (1n << BigInt(32 - node.prefixLength)) - 1n;
      if (vip.value === net.network || vip.value === (net.network | hostMask)) note(edge, subnetText(net), node.path);
    }
  }
  const advice = "keepalived holds the VIP on the node's own segment (or give the node the interface that has it)";
  if (vipNet && outsideVipPrefix.length > 0) {
    reader.problem(
      'spec.endpoint.vip',
      `the VIP's subnet ${subnetText(vipNet)} does not contain ${outsideVipPrefix.join(', ')}; ${advice}`,
    );
  }
  for (const [subnet, paths] of outside) {
    reader.problem(
      'spec.endpoint.vip',
      `${vip.text} is outside the subnet ${subnet} of ${paths.join(', ')}; ${advice}`,
    );
  }
  for (const [subnet, paths] of edge) {
    reader.problem(
      'spec.endpoint.vip',
      `${vip.text} is the network or broadcast address of ${subnet} (${paths.join(', ')})`,
    );
  }
}

function subnetText(net: IpNetwork): string {
  return `${formatIp(net.family, net.network)}/${net.prefixLength}`;
}

function checkNetworks(
  reader: SpecReader,
  nodes: DraftNode[],
  networks: { pod?: IpNetwork; service?: IpNetwork; vip?: IpAddress },
): void {
  const { pod, service, vip } = networks;
  const named = [
    { path: 'spec.networking.podCIDR', net: pod },
    { path: 'spec.networking.serviceCIDR', net: service },
  ];
  if (pod && service) {
    if (pod.family !== service.family) {
      reader.problem(
        'spec.networking.serviceCIDR',
        `is IPv${service.family} but podCIDR is IPv${pod.family}; dual-stack is not supported`,
      );
    } else if (networksOverlap(pod, service)) {
      reader.problem('spec.networking.serviceCIDR', `${service.text} overlaps podCIDR ${pod.text}`);
    }
  }
  if (service && bitsOf(service.family) - service.prefixLength > maxServiceHostBits) {
    reader.problem(
      'spec.networking.serviceCIDR',
      `${service.text} is too large: kube-apiserver accepts at most ${maxServiceHostBits} host bits (/${bitsOf(service.family) - maxServiceHostBits})`,
    );
  }
  if (pod) {
    const perNode = nodePodPrefix[pod.family];
    const kubeletNodes = nodes.filter((n) => n.role !== 'load-balancer').length;
    if (pod.prefixLength > perNode) {
      reader.problem('spec.networking.podCIDR', `${pod.text} is smaller than one node's pod range (/${perNode})`);
    } else if (pod.prefixLength > perNode - 31 && 2 ** (perNode - pod.prefixLength) < kubeletNodes) {
      reader.problem(
        'spec.networking.podCIDR',
        `${pod.text} has room for ${2 ** (perNode - pod.prefixLength)} node pod ranges (/${perNode} each) but the spec has ${kubeletNodes} Kubernetes nodes`,
      );
    }
  }
  for (const { path, net } of named) {
    if (!net) continue;
    const reportedSubnets = new Set<bigint>();
    const contained: string[] = [];
    for (const node of nodes) {
      if (!node.ip) continue;
      if (networkContains(net, node.ip)) {
        contained.push(`${node.path} (${node.ip.text})`);
        continue;
      }
      if (node.prefixLength === undefined) continue;
      const subnet = networkOf(node.ip, node.prefixLength);
      const key = (subnet.network << 8n) | BigInt(subnet.prefixLength);
      if (networksOverlap(net, subnet) && !reportedSubnets.has(key)) {
        reportedSubnets.add(key);
        reader.problem(path, `${net.text} overlaps the subnet ${node.ip.text}/${node.prefixLength} of ${node.path}`);
      }
    }
    if (contained.length > 0) {
      reader.problem(
        path,
        `${net.text} contains the address${contained.length > 1 ? 'es' : ''} of ${contained.join(', ')}`,
      );
    }
    if (vip && networkContains(net, vip)) reader.problem(path, `${net.text} contains the VIP ${vip.text}`);
  }
}
