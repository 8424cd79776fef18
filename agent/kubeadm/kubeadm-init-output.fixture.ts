/** The tail of a real `kubeadm init --config F --upload-certs` run (kubeadm 1.31), secrets included. */
export const fixtureToken = 'abcdef.0123456789abcdef';
export const fixtureCaHash = 'sha256:7a5a4c0d8f7d3c62f0c5d8f2a1b7e9e33c3e5b0c5e9d1f7a2b4c6d8e0f1a3b5c';
export const fixtureCertificateKey = 'e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204';

/**
 * What kubeadm init prints once it has succeeded: how to use the cluster, then the control-plane and the worker join
 * commands (the lab's kubeadm stand-in prints it too).
 */
export function kubeadmInitSucceeded(controlPlaneJoin: string, workerJoin: string): string {
  return `Your Kubernetes control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.kube
  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config
  sudo chown $(id -u):$(id -g) $HOME/.kube/config

Alternatively, if you are the root user, you can run:

  export KUBECONFIG=/etc/kubernetes/admin.conf

You should now deploy a pod network to the cluster.
Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:
  https://kubernetes.io/docs/concepts/cluster-administration/addons/

You can now join any number of the control-plane node running the following command on each as root:

  ${controlPlaneJoin}

Please note that the certificate-key gives access to cluster sensitive data, keep it secret!
As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use
"kubeadm init phase upload-certs --upload-certs" to reload certs afterward.

Then you can join any number of worker nodes by running the following on each as root:

${workerJoin}`;
}

const fixtureJoin = `kubeadm join 10.152.0.6:16443 --token ${fixtureToken} \\
\t--discovery-token-ca-cert-hash ${fixtureCaHash}`;

export const kubeadmInitOutput = `[init] Using Kubernetes version: v1.31.4
[preflight] Running pre-flight checks
[certs] Generating "ca" certificate and key
[kubeconfig] Writing "admin.conf" kubeconfig file
[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace
[upload-certs] Using certificate key:
${fixtureCertificateKey}
[mark-control-plane] Marking the node k8s-master1 as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]
[bootstrap-token] Using token: ${fixtureToken}
[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles
[addons] Applied essential addon: CoreDNS
[addons] Applied essential addon: kube-proxy

${kubeadmInitSucceeded(
  `${fixtureJoin} \\
\t--control-plane --certificate-key ${fixtureCertificateKey}`,
  `${fixtureJoin} `,
)}
`;
