/**
 * What `kubeadm certs renew all` renews, by the names the certificate inventory gives them: the leaf certificates of
 * its PKI (relative to /etc/kubernetes/pki, without ".crt") and the kubeconfigs with an embedded client certificate.
 * The CAs, the service-account key and the kubelet's own certificates are not among them.
 */
export const renewablePkiCertificates = [
  'apiserver',
  'apiserver-kubelet-client',
  'front-proxy-client',
  'apiserver-etcd-client',
  'etcd/server',
  'etcd/peer',
  'etcd/healthcheck-client',
] as const;

export const renewableKubeconfigs = [
  'admin.conf',
  'super-admin.conf',
  'controller-manager.conf',
  'scheduler.conf',
] as const;

const renewableNames: ReadonlySet<string> = new Set([...renewablePkiCertificates, ...renewableKubeconfigs]);

/** True for a certificate of the inventory that `kubeadm certs renew all` renews. */
export function isKubeadmRenewable(name: string): boolean {
  return renewableNames.has(name);
}
