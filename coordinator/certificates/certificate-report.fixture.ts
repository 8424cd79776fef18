import type { CertificateReport } from '../../proto/convert.ts';

const dayMs = 86_400_000;

/** A leaf certificate of kubeadm's PKI as an agent reports it: issued 300 days before `now`, expiring at `notAfterMs`. */
export function certificateReport(
  name: string,
  now: number,
  notAfterMs: number,
  extra: Partial<CertificateReport> = {},
): CertificateReport {
  return {
    name,
    file: `/etc/kubernetes/pki/${name}.crt`,
    kubeconfigUser: '',
    subject: `CN=${name}`,
    issuer: 'CN=kubernetes',
    sans: [],
    notBeforeMs: now - 300 * dayMs,
    notAfterMs,
    isCa: false,
    ...extra,
  };
}
