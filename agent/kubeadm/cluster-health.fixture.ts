/** A healthy 3 control-plane + 1 worker cluster as kubectl, etcdctl and the kubeconfigs show it. */
export const endpoint = '10.152.0.6:16443';

export const specNodes = [
  { name: 'cp1', address: '192.168.1.10', role: 'control-plane' },
  { name: 'cp2', address: '192.168.1.11', role: 'control-plane' },
  { name: 'cp3', address: '192.168.1.12', role: 'control-plane' },
  { name: 'w1', address: '192.168.1.20', role: 'worker' },
  { name: 'lb1', address: '192.168.1.30', role: 'load-balancer' },
];

const ready = {
  conditions: [
    { type: 'MemoryPressure', status: 'False' },
    { type: 'Ready', status: 'True' },
  ],
};

export const nodeList = {
  kind: 'NodeList',
  items: ['cp1', 'cp2', 'cp3', 'w1'].map((name) => ({ metadata: { name }, status: ready })),
};

export const controlPlanePods = {
  kind: 'PodList',
  items: ['cp1', 'cp2', 'cp3'].flatMap((node) =>
    ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((component) => ({
      metadata: { name: `${component}-${node}`, labels: { component, tier: 'control-plane' } },
      spec: { nodeName: node },
      status: { phase: 'Running', containerStatuses: [{ ready: true }] },
    })),
  ),
};

/** Member ids 0x11, 0x22, 0x33 written as etcd prints them (decimal JSON numbers). */
export const memberListJson = JSON.stringify({
  header: { cluster_id: 1, member_id: 17 },
  members: [
    { ID: 17, name: 'cp1', peerURLs: ['https://192.168.1.10:2380'], clientURLs: ['https://192.168.1.10:2379'] },
    { ID: 34, name: 'cp2', peerURLs: ['https://192.168.1.11:2380'], clientURLs: ['https://192.168.1.11:2379'] },
    { ID: 51, name: 'cp3', peerURLs: ['https://192.168.1.12:2380'], clientURLs: ['https://192.168.1.12:2379'] },
  ],
});

export const endpointHealthJson = JSON.stringify(
  ['10', '11', '12'].map((n) => ({ endpoint: `https://192.168.1.${n}:2379`, health: true, took: '8ms' })),
);

export const endpointStatusJson = JSON.stringify(
  [17, 34, 51].map((id, i) => ({
    Endpoint: `https://192.168.1.1${i}:2379`,
    Status: { header: { member_id: id }, leader: 34 },
  })),
);

export const leaseList = {
  kind: 'List',
  items: [
    {
      metadata: { name: 'kube-controller-manager' },
      spec: { holderIdentity: 'cp2_6f1c1f3e-8a7b-4c1d-9e0f-1a2b3c4d5e6f' },
    },
    { metadata: { name: 'kube-scheduler' }, spec: { holderIdentity: 'cp3_0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e' } },
  ],
};

export function kubeconfig(server: string): string {
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: ${server}
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
`;
}

/** cp1's kubeconfigs as kubeadm 1.33 writes them. */
export const cp1Kubeconfigs = {
  '/etc/kubernetes/admin.conf': kubeconfig(`https://${endpoint}`),
  '/etc/kubernetes/kubelet.conf': kubeconfig('https://192.168.1.10:6443'),
  '/etc/kubernetes/controller-manager.conf': kubeconfig('https://192.168.1.10:6443'),
  '/etc/kubernetes/scheduler.conf': kubeconfig('https://192.168.1.10:6443'),
};
