/** Where kubeadm (and kubeha around it) keeps things on a node. */
export const kubeadmPaths = {
  kubernetesDir: '/etc/kubernetes',
  adminConf: '/etc/kubernetes/admin.conf',
  kubeletConf: '/etc/kubernetes/kubelet.conf',
  bootstrapKubeletConf: '/etc/kubernetes/bootstrap-kubelet.conf',
  controllerManagerConf: '/etc/kubernetes/controller-manager.conf',
  schedulerConf: '/etc/kubernetes/scheduler.conf',
  caCert: '/etc/kubernetes/pki/ca.crt',
  pkiDir: '/etc/kubernetes/pki',
  manifestsDir: '/etc/kubernetes/manifests',
  apiserverManifest: '/etc/kubernetes/manifests/kube-apiserver.yaml',
  etcdManifest: '/etc/kubernetes/manifests/etcd.yaml',
  etcdDataDir: '/var/lib/etcd',
  cniConfDir: '/etc/cni/net.d',
  /** kubeha's kubeadm configs (they hold the bootstrap token and certificate key: mode 0600). */
  configDir: '/var/lib/kubeha/kubeadm',
  initConfig: '/var/lib/kubeha/kubeadm/init-config.yaml',
  joinConfig: '/var/lib/kubeha/kubeadm/join-config.yaml',
  criSocket: 'unix:///var/run/containerd/containerd.sock',
} as const;
