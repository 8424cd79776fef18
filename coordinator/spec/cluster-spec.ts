/** The validated cluster spec (DESIGN §4), with every default filled in. Produced by parse-cluster-spec.ts. */
export type EndpointMode = 'haproxy-keepalived' | 'keepalived' | 'external';
export type NodeRole = 'control-plane' | 'worker' | 'load-balancer';

export interface ClusterNodeSpec {
  name: string;
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
      vip: string;
      port: number;
      interface: string;
      virtualRouterId: number;
      multicast: boolean;
    };
    networking: { podCIDR: string; serviceCIDR: string; cni: 'flannel' | 'calico' };
    hostPolicy: { firewall: 'managed' | 'disabled'; selinux: 'permissive' | 'enforcing' };
    concurrency: { workers: number };
    allowEvenControlPlanes: boolean;
    nodes: ClusterNodeSpec[];
  };
}
