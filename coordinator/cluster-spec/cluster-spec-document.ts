import Type, { type Static, type TSchema } from 'typebox';
import {
  cniPlugins,
  endpointModes,
  firewallPolicies,
  nodeRoles,
  selinuxModes,
  snapshotIntervalPattern,
} from './cluster-spec.ts';

/**
 * The cluster spec as an operator writes it (YAML or JSON): the form of every field, its default, and how a field
 * that breaks its form is reported. The REST API publishes this schema as the body of the cluster routes. Rules that
 * compare fields (subnets, the VIP, control-plane counts, the version range) are in cross-field-rules.ts.
 */

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
  renewBeforeDays: 30,
  snapshotKeep: 14,
} as const;

/** Says what is wrong with a value that fails its schema's own keywords; undefined: the generic wording. */
export type Phrase = (value: unknown, keyword: string) => string | undefined;

// A symbol key survives TypeBox's copies of a schema (Type.Optional) and stays out of its JSON (the OpenAPI document).
const phraseKey = Symbol('phrase');

/** The phrase a schema node was given with `phrased`, if any. */
export function phraseOf(schema: TSchema): Phrase | undefined {
  return (schema as { [phraseKey]?: Phrase })[phraseKey];
}

/** Attaches the wording for the failures of `schema`'s own keywords (pattern, lengths, item counts). */
function phrased<T extends TSchema>(schema: T, phrase: Phrase): T {
  return Object.assign(schema, { [phraseKey]: phrase });
}

/** Only for the keywords that judge a string's form; a wrong type keeps the generic wording. */
function formPhrase(describeProblem: (text: string) => string | undefined): Phrase {
  return (value, keyword) => (keyword === 'type' || typeof value !== 'string' ? undefined : describeProblem(value));
}

/** How a value is named in a message: strings quoted, lists and objects by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

const rfc1123Label = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
const httpUrl = 'https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~:/%+@!=,-]*)?';
const registryHost = '[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?';

const ClusterName = phrased(
  Type.String({ minLength: 1, maxLength: 63, pattern: `^${rfc1123Label}$`, description: 'An RFC 1123 label' }),
  formPhrase((name) =>
    name.length === 0
      ? 'must not be empty'
      : `"${name}" is not an RFC 1123 label (at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit)`,
  ),
);

const NodeName = phrased(
  Type.String({
    minLength: 1,
    maxLength: 253,
    pattern: `^${rfc1123Label}(\\.${rfc1123Label})*$`,
    description: 'An RFC 1123 subdomain; the node is renamed to it',
  }),
  formPhrase((name) => {
    if (name.length === 0) return 'must not be empty';
    if (name.length > 253) return `"${name}" is longer than 253 characters`;
    return `"${name}" is not an RFC 1123 name (lowercase letters, digits and "-", starting and ending with a letter or digit, labels of at most 63 characters separated by ".")`;
  }),
);

const InterfaceName = phrased(
  Type.String({ pattern: '^(?!\\.\\.?$)[A-Za-z0-9_.-]{1,15}$', description: 'A Linux interface name' }),
  formPhrase(
    (name) => `"${name}" is not a Linux interface name (1-15 characters of letters, digits, "_", "." and "-")`,
  ),
);

const HostAddress = Type.String({
  description: 'An IPv4 or IPv6 address, optionally with the prefix length of its subnet ("192.168.1.10/24")',
});

const KubernetesVersion = phrased(
  Type.String({
    pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$',
    description: `X.Y.Z, quoted, without a "v"; 1.${supportedKubernetesMinors.min} to 1.${supportedKubernetesMinors.max}`,
  }),
  (value, keyword) => {
    // YAML reads an unquoted 1.31 as a number.
    if (typeof value === 'number') return `must be a quoted string X.Y.Z, got number ${value}`;
    if (keyword === 'type' || typeof value !== 'string') return undefined;
    return `"${value}" is not a version X.Y.Z (e.g. "1.34.4", quoted, without a "v")`;
  },
);

const HttpUrl = phrased(
  Type.String({ pattern: `^${httpUrl}$` }),
  formPhrase((url) => `"${url}" is not an http(s) URL (no spaces, quotes or shell characters)`),
);

const PackageRepository = Type.Object(
  {
    baseUrl: HttpUrl,
    gpgKeyUrl: Type.Optional(
      phrased(
        Type.String({
          pattern: `^(none|${httpUrl})$`,
          description:
            'The signing key, or "none" for a mirror without signatures; absent: the key the repository carries',
        }),
        formPhrase((url) => `"${url}" is not an http(s) URL (no spaces, quotes or shell characters)`),
      ),
    ),
  },
  { additionalProperties: false },
);

const MirrorEndpoints = phrased(
  Type.Array(
    phrased(Type.String({ pattern: `^${httpUrl}$` }), (value) => `${describeValue(value)} is not an http(s) URL`),
    { minItems: 1 },
  ),
  () => 'must be a list of at least one http(s) URL',
);

const Mirrors = Type.Object(
  {
    kubernetesPackages: Type.Optional(PackageRepository),
    containerRuntimePackages: Type.Optional(PackageRepository),
    imageRepository: Type.Optional(
      phrased(
        Type.String({ pattern: `^${registryHost}(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$` }),
        formPhrase((text) => `"${text}" is not a registry host[:port][/path] (lowercase, no scheme, no tag)`),
      ),
    ),
    registries: Type.Optional(
      Type.Array(
        Type.Object(
          {
            registry: phrased(
              Type.String({ pattern: `^${registryHost}$` }),
              formPhrase((text) => `"${text}" is not a registry host[:port] (e.g. docker.io)`),
            ),
            endpoints: MirrorEndpoints,
          },
          { additionalProperties: false },
        ),
        { default: [] },
      ),
    ),
  },
  { additionalProperties: false, description: 'Mirrors of the package repositories and image registries' },
);

const CniManifest = Type.Object(
  {
    url: Type.Optional(
      phrased(
        Type.String({ pattern: `^${httpUrl}$`, description: 'https:// (http:// only with allowHttp)' }),
        formPhrase(() => 'not an http(s) URL'),
      ),
    ),
    sha256: Type.Optional(
      phrased(
        Type.String({ pattern: '^[0-9a-f]{64}$' }),
        formPhrase(() => 'must be 64 lowercase hex digits (sha256sum of the manifest)'),
      ),
    ),
    allowHttp: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);

const ClusterNode = Type.Object(
  {
    name: NodeName,
    address: HostAddress,
    role: Type.Enum(nodeRoles),
    interface: Type.Optional(InterfaceName),
  },
  { additionalProperties: false },
);

const Endpoint = Type.Object(
  {
    mode: Type.Optional(Type.Enum(endpointModes, { default: clusterSpecDefaults.mode })),
    vip: HostAddress,
    port: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: `Default ${clusterSpecDefaults.haproxyPort}, and ${clusterSpecDefaults.keepalivedPort} in mode keepalived`,
      }),
    ),
    interface: Type.Optional(InterfaceName),
    virtualRouterId: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 255, default: clusterSpecDefaults.virtualRouterId }),
    ),
    multicast: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);

const Networking = Type.Object(
  {
    podCIDR: Type.Optional(Type.String({ default: clusterSpecDefaults.podCIDR })),
    serviceCIDR: Type.Optional(Type.String({ default: clusterSpecDefaults.serviceCIDR })),
    cni: Type.Optional(Type.Enum(cniPlugins, { default: clusterSpecDefaults.cni })),
    cniManifest: Type.Optional(CniManifest),
    checkPodTraffic: Type.Optional(
      Type.Boolean({ default: true, description: 'false: verify checks no pod traffic between nodes' }),
    ),
  },
  { additionalProperties: false, default: {} },
);

const HostPolicy = Type.Object(
  {
    firewall: Type.Optional(Type.Enum(firewallPolicies, { default: clusterSpecDefaults.firewall })),
    selinux: Type.Optional(Type.Enum(selinuxModes, { default: clusterSpecDefaults.selinux })),
    allowErasing: Type.Optional(Type.Boolean({ default: false })),
    allowCgroupV1: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false, default: {} },
);

const Etcd = Type.Object(
  {
    snapshots: Type.Optional(
      Type.Object(
        {
          every: phrased(
            Type.String({
              pattern: snapshotIntervalPattern,
              description: 'How often the coordinator takes a snapshot: minutes, hours or days ("30m", "6h", "1d")',
            }),
            formPhrase((text) => `"${text}" is not an interval such as "30m", "6h" or "1d"`),
          ),
          keep: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1000,
              default: clusterSpecDefaults.snapshotKeep,
              description: 'How many snapshots the coordinator keeps; older ones are deleted after each new one',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** The document's properties in the order their problems are listed. */
export const ClusterSpecDocumentSchema = Type.Object(
  {
    apiVersion: Type.Literal('kubeha.io/v1'),
    kind: Type.Literal('Cluster'),
    metadata: Type.Object({ name: ClusterName }, { additionalProperties: false }),
    spec: Type.Object(
      {
        kubernetesVersion: KubernetesVersion,
        nodes: phrased(Type.Array(ClusterNode, { minItems: 1 }), (_value, keyword) =>
          keyword === 'minItems' ? 'must list at least one node' : undefined,
        ),
        endpoint: Endpoint,
        networking: Type.Optional(Networking),
        hostPolicy: Type.Optional(HostPolicy),
        concurrency: Type.Optional(
          Type.Object(
            { workers: Type.Optional(Type.Integer({ minimum: 1, default: clusterSpecDefaults.workers })) },
            { additionalProperties: false, default: {} },
          ),
        ),
        allowEvenControlPlanes: Type.Optional(Type.Boolean({ default: false })),
        mirrors: Type.Optional(Mirrors),
        certificates: Type.Optional(
          Type.Object(
            {
              renewBeforeDays: Type.Optional(
                Type.Integer({ minimum: 1, maximum: 300, default: clusterSpecDefaults.renewBeforeDays }),
              ),
              autoRenew: Type.Optional(Type.Boolean({ default: true })),
            },
            { additionalProperties: false },
          ),
        ),
        etcd: Type.Optional(Etcd),
      },
      { additionalProperties: false },
    ),
  },
  {
    additionalProperties: false,
    description: 'A cluster spec (apiVersion kubeha.io/v1, kind Cluster); see docs/cluster-spec.md',
  },
);

export type ClusterSpecDocument = Static<typeof ClusterSpecDocumentSchema>;
