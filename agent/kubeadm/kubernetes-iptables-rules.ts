/** Chains made by kube-proxy, the CNI plugins, flannel and calico. */
const kubernetesChain = /^(KUBE-|CNI-|FLANNEL-|cali-)/;

export interface FilteredRules {
  /** iptables-save text without the Kubernetes chains and the rules that live in or jump to them. */
  text: string;
  /** Lines dropped (chain declarations and rules). */
  removed: number;
}

function referencesKubernetesChain(rule: string): boolean {
  const words = rule.split(/\s+/);
  if (words[0] === '-A' && kubernetesChain.test(words[1] ?? '')) return true;
  return words.some(
    (w, i) =>
      (w === '-j' || w === '-g' || w === '--jump' || w === '--goto') && kubernetesChain.test(words[i + 1] ?? ''),
  );
}

/**
 * What `kubeadm reset` leaves in iptables, removed from an iptables-save dump; feeding the result to iptables-restore
 * replaces each table with itself minus Kubernetes, so firewalld's and the operator's own rules stay.
 */
export function withoutKubernetesRules(save: string): FilteredRules {
  let removed = 0;
  const kept = save.split('\n').filter((line) => {
    const drop =
      (line.startsWith(':') && kubernetesChain.test(line.slice(1).split(/\s/)[0] ?? '')) ||
      (line.startsWith('-A ') && referencesKubernetesChain(line));
    if (drop) removed++;
    return !drop;
  });
  return { text: kept.join('\n'), removed };
}

/** Virtual services in /proc/net/ip_vs (kube-proxy in IPVS mode makes one per Service port). */
export function ipvsServiceCount(procNetIpVs: string): number {
  return procNetIpVs.split('\n').filter((l) => /^(TCP|UDP|SCTP|FWM)\s/.test(l)).length;
}
