import type { ClusterCertificates } from '../../api/routes/certificates-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { isStructured, type OutputFormat, printList } from '../output-format.ts';

/** Time left as kubeadm certs check-expiration prints it: days, then hours under two days. */
export function timeLeft(secondsLeft: number): string {
  if (secondsLeft <= 0) return 'expired';
  const hours = Math.floor(secondsLeft / 3600);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  return days < 730 ? `${days}d` : `${Math.floor(days / 365)}y`;
}

/** The certificate's name, with the kubeconfig user when it came from one. */
function certificateLabel(c: ClusterCertificates['certificates'][number]): string {
  return c.kubeconfigUser ? `${c.name} (${c.kubeconfigUser})` : c.name;
}

/** `kubeha get certs CLUSTER`: every node's certificates, the soonest to expire first. */
export async function getCertificatesCommand(
  api: ApiClient,
  out: (text: string) => void,
  err: (text: string) => void,
  cluster: string,
  format: OutputFormat,
): Promise<number> {
  const reply = await api.request<ClusterCertificates>(
    'GET',
    `/v1/clusters/${encodeURIComponent(cluster)}/certificates`,
  );
  const code = printList(out, format, reply.certificates, {
    header: (wide) => [
      'NODE',
      'CERTIFICATE',
      'EXPIRES',
      'LEFT',
      'CA/ISSUER',
      ...(wide ? ['LEVEL', 'FILE', 'SUBJECT', 'SANS'] : []),
    ],
    row: (c, wide) => [
      c.node,
      certificateLabel(c),
      c.notAfter.replace(/\.\d{3}Z$/, 'Z'),
      timeLeft(c.secondsLeft),
      c.isCa ? 'CA' : c.issuer,
      ...(wide ? [c.level, c.file, c.subject, c.sans.join(',') || '-'] : []),
    ],
  });
  if (!isStructured(format) && reply.nodesWithoutReport.length > 0) {
    err(`no certificate report yet from: ${reply.nodesWithoutReport.join(', ')}`);
  }
  return code;
}
