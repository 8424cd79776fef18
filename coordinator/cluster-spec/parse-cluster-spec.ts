import { Compile } from 'typebox/compile';
import Value from 'typebox/value';
import { parseDocument } from 'yaml';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { ClusterSpec } from './cluster-spec.ts';
import { type ClusterSpecDocument, ClusterSpecDocumentSchema, clusterSpecDefaults } from './cluster-spec-document.ts';
import { checkCrossFieldRules } from './cross-field-rules.ts';
import { documentProblems } from './document-problems.ts';
import { formatIp, type IpAddress } from './ip-address.ts';
import { type DraftNode, type Problems, readDraft, type SpecDraft } from './spec-draft.ts';

export type ParseClusterSpecResult = { ok: true; spec: ClusterSpec } | { ok: false; problems: string[] };

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

let validator: { Check(value: unknown): boolean } | undefined;

function parseAndValidate(input: unknown): ParseClusterSpecResult {
  const problems: Problems = [];
  const raw = parseInput(input, problems);
  if (problems.length > 0) return { ok: false, problems };

  const document = Value.Default(ClusterSpecDocumentSchema, structuredClone(raw));
  // The compiled check is some fifty times faster than listing errors; most specs that reach it are valid.
  validator ??= Compile(ClusterSpecDocumentSchema);
  const conforms = validator.Check(document);
  const schemaProblems = conforms ? [] : documentProblems(ClusterSpecDocumentSchema, document);
  const spec = (document as { spec?: unknown } | null)?.spec;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    // The schema has said why there is no spec mapping; without one no field can be compared with another.
    return { ok: false, problems: schemaProblems.map((p) => `${p.path}: ${p.message}`) };
  }
  const ruleProblems: Problems = [];
  const draft = readDraft(document, schemaProblems, ruleProblems);
  checkCrossFieldRules(draft, ruleProblems);
  for (const problem of schemaProblems) {
    // In mode external the interface is refused whatever its form; one problem says so.
    if (problem.pointer === '/spec/endpoint/interface' && draft.mode === 'external') continue;
    problems.push(`${problem.path}: ${problem.message}`);
  }
  problems.push(...ruleProblems);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, spec: toClusterSpec(document as ClusterSpecDocument, draft) };
}

function parseInput(input: unknown, problems: Problems): unknown {
  if (typeof input !== 'string') return input;
  const document = parseDocument(input, { prettyErrors: true });
  if (document.errors.length > 0) {
    for (const error of document.errors) {
      // With prettyErrors the first line ends "at line L, column C:" and the next lines quote the source.
      problems.push(`(document): not valid YAML or JSON: ${error.message.split('\n')[0]!.replace(/:$/, '')}`);
    }
    return undefined;
  }
  try {
    // A spec has no use for many aliases; a chain of them (a "billion laughs") would expand without bound.
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    problems.push(`(document): not a usable YAML document: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
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

/** The validated spec, its keys in one order whatever the document's, so that stored specs compare as text. */
function toClusterSpec(document: ClusterSpecDocument, draft: SpecDraft): ClusterSpec {
  const { endpoint, networking, hostPolicy, mirrors, certificates, etcd } = document.spec;
  const mode = endpoint.mode ?? clusterSpecDefaults.mode;
  const endpointSpec: ClusterSpec['spec']['endpoint'] = {
    mode,
    vip: canonical(draft.vip!),
    port:
      endpoint.port ?? (mode === 'keepalived' ? clusterSpecDefaults.keepalivedPort : clusterSpecDefaults.haproxyPort),
    interface: mode === 'external' ? '' : endpoint.interface!,
    virtualRouterId: endpoint.virtualRouterId!,
    multicast: endpoint.multicast!,
  };
  if (draft.vipPrefixLength !== undefined) endpointSpec.vipPrefixLength = draft.vipPrefixLength;
  const manifest = networking!.cniManifest;
  return {
    apiVersion: 'kubeha.io/v1',
    kind: 'Cluster',
    metadata: { name: document.metadata.name },
    spec: {
      kubernetesVersion: document.spec.kubernetesVersion,
      endpoint: endpointSpec,
      networking: {
        podCIDR: networking!.podCIDR!,
        serviceCIDR: networking!.serviceCIDR!,
        cni: networking!.cni!,
        ...(manifest
          ? {
              cniManifest: {
                ...(manifest.url !== undefined ? { url: manifest.url } : {}),
                ...(manifest.sha256 !== undefined ? { sha256: manifest.sha256 } : {}),
                allowHttp: manifest.allowHttp!,
              },
            }
          : {}),
        ...(networking!.checkPodTraffic === false ? { checkPodTraffic: false as const } : {}),
      },
      hostPolicy: {
        firewall: hostPolicy!.firewall!,
        selinux: hostPolicy!.selinux!,
        allowErasing: hostPolicy!.allowErasing!,
        allowCgroupV1: hostPolicy!.allowCgroupV1!,
      },
      concurrency: { workers: document.spec.concurrency!.workers! },
      allowEvenControlPlanes: document.spec.allowEvenControlPlanes!,
      nodes: draft.nodes.map(toNodeSpec),
      ...(mirrors
        ? {
            mirrors: {
              ...(mirrors.kubernetesPackages ? { kubernetesPackages: repository(mirrors.kubernetesPackages) } : {}),
              ...(mirrors.containerRuntimePackages
                ? { containerRuntimePackages: repository(mirrors.containerRuntimePackages) }
                : {}),
              ...(mirrors.imageRepository !== undefined ? { imageRepository: mirrors.imageRepository } : {}),
              registries: mirrors.registries!.map((r) => ({ registry: r.registry, endpoints: r.endpoints })),
            },
          }
        : {}),
      ...(certificates
        ? { certificates: { renewBeforeDays: certificates.renewBeforeDays!, autoRenew: certificates.autoRenew! } }
        : {}),
      ...(etcd
        ? {
            etcd: etcd.snapshots ? { snapshots: { every: etcd.snapshots.every, keep: etcd.snapshots.keep! } } : {},
          }
        : {}),
    },
  };
}

function repository(written: { baseUrl: string; gpgKeyUrl?: string }) {
  return { baseUrl: written.baseUrl, ...(written.gpgKeyUrl !== undefined ? { gpgKeyUrl: written.gpgKeyUrl } : {}) };
}

function toNodeSpec(node: DraftNode): ClusterSpec['spec']['nodes'][number] {
  const spec: ClusterSpec['spec']['nodes'][number] = {
    name: node.name!,
    address: canonical(node.ip!),
    role: node.role!,
  };
  if (node.prefixLength !== undefined) spec.prefixLength = node.prefixLength;
  if (node.interface !== undefined) spec.interface = node.interface;
  return spec;
}
