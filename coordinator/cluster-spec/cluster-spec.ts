/** The validated cluster spec (docs/cluster-spec.md), with every default filled in. Produced by parse-cluster-spec.ts. */
export type EndpointMode = 'haproxy-keepalived' | 'keepalived' | 'external';
export type NodeRole = 'control-plane' | 'worker' | 'load-balancer';

export interface ClusterNodeSpec {
  name: string;
  /** The bare IP address (a spec's "192.168.1.10/24" becomes "192.168.1.10" with prefixLength 24). */
  address: string;
  role: NodeRole;
  /** Prefix length of the node's subnet when the spec gives the address as CIDR ("192.168.1.10/24"). */
  prefixLength?: number;
  /** Overrides the endpoint interface on this node (e.g. the VIP on a second NIC). */
  interface?: string;
}

export interface ClusterSpec {
  apiVersion: 'kubeha.io/v1';
  kind: 'Cluster';
  metadata: { name: string };
  spec: {
    kubernetesVersion: string;
    endpoint: {
      mode: EndpointMode;
      /** The bare IP address; in mode external, the operator's load balancer. */
      vip: string;
      port: number;
      /** Where keepalived puts the VIP; "" in mode external. */
      interface: string;
      virtualRouterId: number;
      multicast: boolean;
      /** When the spec writes the VIP as "10.152.0.6/24"; otherwise the planner takes the VIP holders' prefix. */
      vipPrefixLength?: number;
    };
    networking: {
      podCIDR: string;
      serviceCIDR: string;
      cni: 'flannel' | 'calico';
      /** Absent: the release kubeha pins, fetched over https. */
      cniManifest?: CniManifestSpec;
      /** false: verify runs no probe pods and reports pod traffic between nodes as not checked. Absent: checked. */
      checkPodTraffic?: false;
    };
    hostPolicy: {
      firewall: 'managed' | 'disabled';
      selinux: 'permissive' | 'enforcing';
      /** Run Kubernetes >= 1.35 on cgroup v1 hosts, which its kubelet and kubeadm refuse unless told otherwise. */
      allowCgroupV1: boolean;
      /** dnf may remove installed packages that conflict with containerd.io (runc, and podman or buildah with it). */
      allowErasing: boolean;
    };
    concurrency: { workers: number };
    allowEvenControlPlanes: boolean;
    nodes: ClusterNodeSpec[];
    /** Where packages and images come from instead of their public homes (air-gapped sites); absent: the public ones. */
    mirrors?: MirrorsSpec;
  };
}

/** An rpm repository mirror. */
export interface PackageRepositorySpec {
  baseUrl: string;
  /** The signing key's URL, or "none" for a mirror without signatures; absent: the key the repository carries. */
  gpgKeyUrl?: string;
}

export interface MirrorsSpec {
  /** kubelet, kubeadm, kubectl, cri-tools, kubernetes-cni: a copy of pkgs.k8s.io's repository of the minor. */
  kubernetesPackages?: PackageRepositorySpec;
  /** containerd.io: a copy of download.docker.com/linux/centos (or rhel), with its $releasever/$basearch tree. */
  containerRuntimePackages?: PackageRepositorySpec;
  /** kubeadm's imageRepository: a registry holding registry.k8s.io's control-plane, etcd, coredns and pause images. */
  imageRepository?: string;
  /** containerd registry mirrors: pulls from `registry` go to `endpoints` first. */
  registries: { registry: string; endpoints: string[] }[];
}

/** The CNI manifest's source and pin. */
export interface CniManifestSpec {
  /** https:// (http:// only with allowHttp); absent: the pinned release's URL. */
  url?: string;
  /** sha256 the downloaded manifest must have; a mismatch fails the cni step. */
  sha256?: string;
  allowHttp: boolean;
}
