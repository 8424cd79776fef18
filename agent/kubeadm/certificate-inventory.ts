import { X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../common/logger.ts';
import type { CertificateInventory, CertificateReport } from '../../proto/convert.ts';
import type { Host } from '../host/host.ts';
import { kubeadmPaths } from './kubeadm-paths.ts';

const etcdPkiDir = `${kubeadmPaths.pkiDir}/etcd`;
const kubeletPkiDir = '/var/lib/kubelet/pki';

/** The kubeconfigs kubeadm writes with an embedded client certificate (a worker has only kubelet.conf). */
const kubeconfigFiles = ['admin.conf', 'super-admin.conf', 'controller-manager.conf', 'scheduler.conf', 'kubelet.conf'];

/** The kubelet's client certificate (it holds its key too) and its self-signed serving certificate. */
const kubeletFiles = [
  { name: 'kubelet-client-current', file: `${kubeletPkiDir}/kubelet-client-current.pem` },
  { name: 'kubelet-serving', file: `${kubeletPkiDir}/kubelet.crt` },
];

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** "CN=a\nO=b" as X509Certificate gives it, on one line. */
function oneLineName(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

/** The first CERTIFICATE block of a PEM text; any key block beside it is never looked at. */
export function describeCertificate(
  pemText: string,
  where: { name: string; file: string; kubeconfigUser?: string },
): CertificateReport | undefined {
  const block = certificateBlock.exec(pemText)?.[0];
  if (!block) return undefined;
  const certificate = new X509Certificate(block);
  return {
    name: where.name,
    file: where.file,
    kubeconfigUser: where.kubeconfigUser ?? '',
    subject: oneLineName(certificate.subject),
    issuer: oneLineName(certificate.issuer),
    sans: (certificate.subjectAltName ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    notBeforeMs: Date.parse(certificate.validFrom),
    notAfterMs: Date.parse(certificate.validTo),
    isCa: certificate.ca,
  };
}

interface KubeconfigUsers {
  users?: { name?: string; user?: { 'client-certificate-data'?: string } }[];
}

/** Reads the certificates of a node, as kubeadm and the kubelet leave them; a file that is absent is skipped. */
export class CertificateInventoryReader {
  private readonly host: Pick<Host, 'readFile' | 'listDir'>;
  private readonly logger: Logger;

  constructor(host: Pick<Host, 'readFile' | 'listDir'>, logger: Logger) {
    this.host = host;
    this.logger = logger;
  }

  async read(now: number): Promise<CertificateInventory> {
    const certificates: CertificateReport[] = [];
    const add = (report: CertificateReport | undefined) => {
      if (report) certificates.push(report);
    };
    for (const [dir, prefix] of [
      [kubeadmPaths.pkiDir, ''],
      [etcdPkiDir, 'etcd/'],
    ] as const) {
      for (const entry of (await this.host.listDir(dir)).filter((e) => e.endsWith('.crt')).sort()) {
        const file = `${dir}/${entry}`;
        add(await this.readPemFile(file, `${prefix}${entry.slice(0, -'.crt'.length)}`));
      }
    }
    for (const entry of kubeconfigFiles) {
      for (const report of await this.readKubeconfig(`${kubeadmPaths.kubernetesDir}/${entry}`, entry)) add(report);
    }
    for (const { name, file } of kubeletFiles) add(await this.readPemFile(file, name));
    return { gatheredAtMs: now, certificates };
  }

  private async readPemFile(file: string, name: string): Promise<CertificateReport | undefined> {
    const text = await this.host.readFile(file);
    if (text === undefined) return undefined;
    return this.describeOrWarn(text, { name, file });
  }

  /** The client certificates embedded as client-certificate-data; a user naming a file instead has none here. */
  private async readKubeconfig(file: string, name: string): Promise<CertificateReport[]> {
    const text = await this.host.readFile(file);
    if (text === undefined) return [];
    let parsed: KubeconfigUsers;
    try {
      parsed = (parseYaml(text) ?? {}) as KubeconfigUsers;
    } catch (error) {
      this.logger.warn({ file, err: (error as Error).message }, 'cannot read the kubeconfig for its certificates');
      return [];
    }
    const reports: CertificateReport[] = [];
    for (const user of parsed.users ?? []) {
      const data = user.user?.['client-certificate-data'];
      if (typeof data !== 'string' || !data) continue;
      const pem = Buffer.from(data, 'base64').toString('utf8');
      const report = this.describeOrWarn(pem, { name, file, kubeconfigUser: user.name ?? '' });
      if (report) reports.push(report);
    }
    return reports;
  }

  private describeOrWarn(
    pemText: string,
    where: { name: string; file: string; kubeconfigUser?: string },
  ): CertificateReport | undefined {
    try {
      const report = describeCertificate(pemText, where);
      if (!report) this.logger.warn({ file: where.file }, 'no certificate found in the file');
      return report;
    } catch (error) {
      this.logger.warn({ file: where.file, err: (error as Error).message }, 'cannot parse the certificate');
      return undefined;
    }
  }
}
