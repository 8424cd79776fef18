import { coordinatorNode } from '../plan/run-plan.ts';
import type { EndpointMode, NodeRole } from './cluster-spec.ts';
import { supportedKubernetesMinors } from './cluster-spec-document.ts';
import { type DocumentProblem, valueAt } from './document-problems.ts';
import {
  bitsOf,
  type IpAddress,
  type IpNetwork,
  parseCidr,
  parseIp,
  splitPrefix,
  unusableAddressReason,
} from './ip-address.ts';

/** "path: what is wrong" lines, in the order they were found. */
export type Problems = string[];

export interface DraftNode {
  path: string;
  name?: string;
  ip?: IpAddress;
  prefixLength?: number;
  role?: NodeRole;
  interface?: string;
}

/**
 * The fields of a spec that passed their own checks, parsed (addresses, networks); a field that failed is absent,
 * so that the cross-field rules judge only what is usable and every problem is reported once.
 */
export interface SpecDraft {
  kubernetesVersion?: string;
  nodes: DraftNode[];
  mode?: EndpointMode;
  vip?: IpAddress;
  vipPrefixLength?: number;
  port?: number;
  /** Present when the document has the endpoint. */
  endpoint?: { interface?: string; interfaceGiven: boolean; portGiven: boolean };
  allowEvenControlPlanes?: boolean;
  podNetwork?: IpNetwork;
  serviceNetwork?: IpNetwork;
  cniManifest?: { url?: string; allowHttp?: boolean };
}

/**
 * Reads the usable fields of `document` (defaults already applied) given the problems its schema found, and checks
 * the values a pattern cannot judge: addresses, networks, the version range, the reserved node name.
 */
export function readDraft(document: unknown, schemaProblems: DocumentProblem[], problems: Problems): SpecDraft {
  const failed = new Set(schemaProblems.map((p) => p.pointer));
  /** The value at `pointer`, unless it or a value holding it failed its schema. */
  const usable = (pointer: string): unknown => {
    for (let at = pointer; at !== ''; at = at.slice(0, at.lastIndexOf('/'))) if (failed.has(at)) return undefined;
    return valueAt(document, pointer);
  };
  const text = (pointer: string) => {
    const value = usable(pointer);
    return typeof value === 'string' ? value : undefined;
  };
  const integer = (pointer: string) => {
    const value = usable(pointer);
    return typeof value === 'number' ? value : undefined;
  };
  const flag = (pointer: string) => {
    const value = usable(pointer);
    return typeof value === 'boolean' ? value : undefined;
  };

  const draft: SpecDraft = { nodes: [] };
  const version = text('/spec/kubernetesVersion');
  const versionProblem = version === undefined ? undefined : kubernetesVersionRangeProblem(version);
  if (versionProblem) problems.push(`spec.kubernetesVersion: ${versionProblem}`);
  else draft.kubernetesVersion = version;

  const nodes = usable('/spec/nodes');
  if (Array.isArray(nodes)) {
    draft.nodes = nodes.map((_, index) => {
      const path = `spec.nodes[${index}]`;
      const at = `/spec/nodes/${index}`;
      const node: DraftNode = { path };
      const name = text(`${at}/name`);
      if (name === coordinatorNode) {
        problems.push(
          `${path}.name: "${coordinatorNode}" is reserved: the coordinator's own steps run on a node of that name`,
        );
      } else if (name !== undefined) {
        node.name = name;
      }
      const address = text(`${at}/address`);
      const parsed = address === undefined ? undefined : readHostAddress(address, `${path}.address`, problems);
      if (parsed) {
        node.ip = parsed.ip;
        if (parsed.prefixLength !== undefined) node.prefixLength = parsed.prefixLength;
      }
      const role = text(`${at}/role`);
      if (role !== undefined) node.role = role as NodeRole;
      const nodeInterface = text(`${at}/interface`);
      if (nodeInterface !== undefined) node.interface = nodeInterface;
      return node;
    });
  }

  const endpoint = usable('/spec/endpoint');
  if (endpoint !== null && typeof endpoint === 'object' && !Array.isArray(endpoint)) {
    const mode = text('/spec/endpoint/mode');
    if (mode !== undefined) draft.mode = mode as EndpointMode;
    const vipText = text('/spec/endpoint/vip');
    const vip = vipText === undefined ? undefined : readHostAddress(vipText, 'spec.endpoint.vip', problems);
    if (vip) {
      draft.vip = vip.ip;
      if (vip.prefixLength !== undefined) draft.vipPrefixLength = vip.prefixLength;
    }
    const port = integer('/spec/endpoint/port');
    if (port !== undefined) draft.port = port;
    const written = endpoint as Record<string, unknown>;
    const endpointInterface = text('/spec/endpoint/interface');
    draft.endpoint = {
      interfaceGiven: written['interface'] !== undefined,
      portGiven: written['port'] !== undefined,
      ...(endpointInterface !== undefined ? { interface: endpointInterface } : {}),
    };
  }
  const allowEven = flag('/spec/allowEvenControlPlanes');
  if (allowEven !== undefined) draft.allowEvenControlPlanes = allowEven;

  const podNetwork = readNetwork(text('/spec/networking/podCIDR'), 'spec.networking.podCIDR', problems);
  if (podNetwork) draft.podNetwork = podNetwork;
  const serviceNetwork = readNetwork(text('/spec/networking/serviceCIDR'), 'spec.networking.serviceCIDR', problems);
  if (serviceNetwork) draft.serviceNetwork = serviceNetwork;
  const manifestUrl = text('/spec/networking/cniManifest/url');
  const allowHttp = flag('/spec/networking/cniManifest/allowHttp');
  if (manifestUrl !== undefined) {
    draft.cniManifest = { url: manifestUrl, ...(allowHttp !== undefined ? { allowHttp } : {}) };
  }
  return draft;
}

function kubernetesVersionRangeProblem(version: string): string | undefined {
  const [major, minor] = version.split('.').map(Number);
  const { min, max } = supportedKubernetesMinors;
  if (major !== 1 || minor === undefined || minor < min || minor > max) {
    return `${version} is outside the supported range 1.${min}-1.${max}`;
  }
  return undefined;
}

/** An address "192.168.1.10" or "192.168.1.10/24" usable by a host. */
function readHostAddress(
  text: string,
  path: string,
  problems: Problems,
): { ip: IpAddress; prefixLength?: number } | undefined {
  const { address, prefixLength, prefixText } = splitPrefix(text);
  const ip = parseIp(address);
  if (!ip) {
    problems.push(`${path}: "${text}" is not an IPv4 or IPv6 address`);
    return undefined;
  }
  if (prefixLength !== undefined && (Number.isNaN(prefixLength) || prefixLength > bitsOf(ip.family))) {
    problems.push(`${path}: "/${prefixText}" is not a prefix length (0-${bitsOf(ip.family)})`);
    return undefined;
  }
  const unusable = unusableAddressReason(ip);
  if (unusable) {
    problems.push(`${path}: ${address} is ${unusable}`);
    return undefined;
  }
  return prefixLength === undefined ? { ip } : { ip, prefixLength };
}

function readNetwork(text: string | undefined, path: string, problems: Problems): IpNetwork | undefined {
  if (text === undefined) return undefined;
  const parsed = parseCidr(text);
  if (!parsed.ok) {
    problems.push(`${path}: ${parsed.problem}`);
    return undefined;
  }
  return parsed.network;
}
