import Type, { type Static } from 'typebox';

/**
 * The validated cluster spec (docs/cluster-spec.md), with every default filled in. parse-cluster-spec.ts produces it
 * from the document an operator writes (cluster-spec-document.ts); the types below are derived from this schema.
 */
export const endpointModes = ['haproxy-keepalived', 'keepalived', 'external'] as const;
export const nodeRoles = ['control-plane', 'worker', 'load-balancer'] as const;
export const cniPlugins = ['flannel', 'calico'] as const;
export const firewallPolicies = ['managed', 'disabled'] as const;
export const selinuxModes = ['permissive', 'enforcing'] as const;

export const ClusterNodeSpecSchema = Type.Object({
  name: Type.String(),
  /** The bare IP address (a spec's "192.168.1.10/24" becomes "192.168.1.10" with prefixLength 24). */
  address: Type.String(),
  role: Type.Enum(nodeRoles),
  /** Prefix length of the node's subnet when the spec gives the address as CIDR ("192.168.1.10/24"). */
  prefixLength: Type.Optional(Type.Integer()),
  /** Overrides the endpoint interface on this node (e.g. the VIP on a second NIC). */
  interface: Type.Optional(Type.String()),
});

/** An rpm repository mirror. */
export const PackageRepositorySpecSchema = Type.Object({
  baseUrl: Type.String(),
  /** The signing key's URL, or "none" for a mirror without signatures; absent: the key the repository carries. */
  gpgKeyUrl: Type.Optional(Type.String()),
});

export const MirrorsSpecSchema = Type.Object({
  /** kubelet, kubeadm, kubectl, cri-tools, kubernetes-cni: a copy of pkgs.k8s.io's repository of the minor. */
  kubernetesPackages: Type.Optional(PackageRepositorySpecSchema),
  /** containerd.io: a copy of download.docker.com/linux/centos (or rhel), with its $releasever/$basearch tree. */
  containerRuntimePackages: Type.Optional(PackageRepositorySpecSchema),
  /** kubeadm's imageRepository: a registry holding registry.k8s.io's control-plane, etcd, coredns and pause images. */
  imageRepository: Type.Optional(Type.String()),
  /** containerd registry mirrors: pulls from `registry` go to `endpoints` first. */
  registries: Type.Array(Type.Object({ registry: Type.String(), endpoints: Type.Array(Type.String()) })),
});

/** The CNI manifest's source and pin. */
export const CniManifestSpecSchema = Type.Object({
  /** https:// (http:// only with allowHttp); absent: the pinned release's URL. */
  url: Type.Optional(Type.String()),
  /** sha256 the downloaded manifest must have; a mismatch fails the cni step. */
  sha256: Type.Optional(Type.String()),
  allowHttp: Type.Boolean(),
});

export const CertificatesSpecSchema = Type.Object({
  /** The renewal run starts by itself when a certificate kubeadm renews expires within this many days. */
  renewBeforeDays: Type.Integer(),
  /** false: no automatic renewal run (the warnings stay). */
  autoRenew: Type.Boolean(),
});

/** The coordinator's etcd snapshot schedule: one every `every` ("30m", "6h", "1d"), the newest `keep` kept. */
export const EtcdSnapshotScheduleSchema = Type.Object({
  every: Type.String(),
  keep: Type.Integer(),
});

export const ClusterSpecSchema = Type.Object({
  apiVersion: Type.Literal('kubeha.io/v1'),
  kind: Type.Literal('Cluster'),
  metadata: Type.Object({ name: Type.String() }),
  spec: Type.Object({
    kubernetesVersion: Type.String(),
    endpoint: Type.Object({
      mode: Type.Enum(endpointModes),
      /** The bare IP address; in mode external, the operator's load balancer. */
      vip: Type.String(),
      port: Type.Integer(),
      /** Where keepalived puts the VIP; "" in mode external. */
      interface: Type.String(),
      virtualRouterId: Type.Integer(),
      multicast: Type.Boolean(),
      /** When the spec writes the VIP as "10.152.0.6/24"; otherwise the planner takes the VIP holders' prefix. */
      vipPrefixLength: Type.Optional(Type.Integer()),
    }),
    networking: Type.Object({
      podCIDR: Type.String(),
      serviceCIDR: Type.String(),
      cni: Type.Enum(cniPlugins),
      /** Absent: the release kubeha pins, fetched over https. */
      cniManifest: Type.Optional(CniManifestSpecSchema),
      /** false: verify runs no probe pods and reports pod traffic between nodes as not checked. Absent: checked. */
      checkPodTraffic: Type.Optional(Type.Literal(false)),
    }),
    hostPolicy: Type.Object({
      firewall: Type.Enum(firewallPolicies),
      selinux: Type.Enum(selinuxModes),
      /** Run Kubernetes >= 1.35 on cgroup v1 hosts, which its kubelet and kubeadm refuse unless told otherwise. */
      allowCgroupV1: Type.Boolean(),
      /** dnf may remove installed packages that conflict with containerd.io (runc, and podman or buildah with it). */
      allowErasing: Type.Boolean(),
    }),
    concurrency: Type.Object({ workers: Type.Integer() }),
    allowEvenControlPlanes: Type.Boolean(),
    nodes: Type.Array(ClusterNodeSpecSchema),
    /** Where packages and images come from instead of their public homes (air-gapped sites); absent: the public ones. */
    mirrors: Type.Optional(MirrorsSpecSchema),
    /** When the coordinator renews the certificates kubeadm made by itself; absent: the defaults. */
    certificates: Type.Optional(CertificatesSpecSchema),
    /** Absent: no scheduled snapshots (`kubeha etcd snapshot` still takes one). */
    etcd: Type.Optional(Type.Object({ snapshots: Type.Optional(EtcdSnapshotScheduleSchema) })),
  }),
});

export type ClusterSpec = Static<typeof ClusterSpecSchema>;
export type ClusterNodeSpec = Static<typeof ClusterNodeSpecSchema>;
export type EndpointMode = (typeof endpointModes)[number];
export type NodeRole = (typeof nodeRoles)[number];
export type PackageRepositorySpec = Static<typeof PackageRepositorySpecSchema>;
export type MirrorsSpec = Static<typeof MirrorsSpecSchema>;
export type CniManifestSpec = Static<typeof CniManifestSpecSchema>;
export type CertificatesSpec = Static<typeof CertificatesSpecSchema>;
export type EtcdSnapshotSchedule = Static<typeof EtcdSnapshotScheduleSchema>;

const durationUnitMs = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const snapshotIntervalPattern = '^[1-9][0-9]{0,5}[mhd]$';

/** "30m", "6h", "1d" in milliseconds; the form is checked by the spec's schema. */
export function snapshotIntervalMs(every: string): number {
  return Number(every.slice(0, -1)) * durationUnitMs[every.slice(-1) as keyof typeof durationUnitMs];
}
