/** The validated cluster spec (DESIGN §4), with every default filled in. Produced by parse-cluster-spec.ts. */
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
    };
    hostPolicy: { firewall: 'managed' | 'disabled'; selinux: 'permissive' | 'enforcing' };
    concurrency: { workers: number };
    allowEvenControlPlanes: boolean;
    nodes: ClusterNodeSpec[];
  };
}

/** The CNI manifest's source and pin. */
export interface CniManifestSpec {
  /** https:// (http:// only with allowHttp); absent: the pinned release's URL. */
  url?: string;
  /** sha256 the downloaded manifest must have; a mismatch fails the cni step. */
  sha256?: string;
  allowHttp: boolean;
}
