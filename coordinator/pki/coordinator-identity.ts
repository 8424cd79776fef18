import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CaMaterial, CertificateAuthority } from './certificate-authority.ts';

export interface CoordinatorIdentity {
  ca: CertificateAuthority;
  serverCertificatePem: string;
  serverPrivateKeyPem: string;
  adminToken: string;
  adminTokenPath: string;
  /** The REST API's certificate chain and key, when it serves HTTPS. */
  apiCertificatePem?: string;
  apiPrivateKeyPem?: string;
}

/** A certificate is renewed once less than a third of its life (or 30 days) is left: well before it expires. */
export function certificateNeedsRenewal(certificatePem: string, now: number = Date.now()): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch {
    return true;
  }
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  const margin = Math.max((notAfter - notBefore) / 3, 30 * 24 * 3600_000);
  return now >= notAfter - margin;
}

function writePrivate(path: string, content: string, mode = 0o600): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, content, { mode });
  chmodSync(temp, mode);
  renameSync(temp, path);
}

/**
 * On first start: a CA (ECDSA P-256), the gateway's server certificate and the admin API token, in the data dir.
 * Later starts load them; the server certificate is re-issued when the configured SANs change or it nears expiry.
 */
export async function ensureCoordinatorIdentity(
  dataDir: string,
  serverSans: string[],
  now: number = Date.now(),
  apiSans: string[] = [],
): Promise<CoordinatorIdentity> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const caCertPath = join(dataDir, 'ca.crt');
  const caKeyPath = join(dataDir, 'ca.key');
  if (!existsSync(caCertPath) || !existsSync(caKeyPath)) {
    const material = await CertificateAuthority.create();
    writePrivate(caKeyPath, material.privateKeyPem);
    writePrivate(caCertPath, material.certificatePem, 0o644);
  }
  const material: CaMaterial = {
    certificatePem: readFileSync(caCertPath, 'utf8'),
    privateKeyPem: readFileSync(caKeyPath, 'utf8'),
  };
  const ca = await CertificateAuthority.load(material);

  const serverCertPath = join(dataDir, 'gateway.crt');
  const serverKeyPath = join(dataDir, 'gateway.key');
  const sansPath = join(dataDir, 'gateway.sans');
  const wantedSans = [...new Set(serverSans)].sort().join(',');
  const currentSans = existsSync(sansPath) ? readFileSync(sansPath, 'utf8') : '';
  if (
    !existsSync(serverCertPath) ||
    !existsSync(serverKeyPath) ||
    currentSans !== wantedSans ||
    certificateNeedsRenewal(readFileSync(serverCertPath, 'utf8'), now)
  ) {
    const issued = await ca.issueServerCertificate(serverSans);
    writePrivate(serverKeyPath, issued.privateKeyPem);
    // The chain carries the CA so that an enrolling agent can pin it by hash before trusting anything.
    writePrivate(serverCertPath, `${issued.certificatePem.trim()}\n${ca.certificatePem.trim()}\n`, 0o644);
    writePrivate(sansPath, wantedSans, 0o644);
  }

  let apiCertificatePem: string | undefined;
  let apiPrivateKeyPem: string | undefined;
  if (apiSans.length > 0) {
    const apiCertPath = join(dataDir, 'api.crt');
    const apiKeyPath = join(dataDir, 'api.key');
    const apiSansPath = join(dataDir, 'api.sans');
    const wanted = [...new Set(apiSans)].sort().join(',');
    if (
      !existsSync(apiCertPath) ||
      !existsSync(apiKeyPath) ||
      (existsSync(apiSansPath) ? readFileSync(apiSansPath, 'utf8') : '') !== wanted ||
      certificateNeedsRenewal(readFileSync(apiCertPath, 'utf8'), now)
    ) {
      const issued = await ca.issueServerCertificate(apiSans);
      writePrivate(apiKeyPath, issued.privateKeyPem);
      // With the CA after the leaf, a workstation can pin the CA by hash as an enrolling agent does.
      writePrivate(apiCertPath, `${issued.certificatePem.trim()}\n${ca.certificatePem.trim()}\n`, 0o644);
      writePrivate(apiSansPath, wanted, 0o644);
    }
    chmodSync(apiKeyPath, 0o600);
    apiCertificatePem = readFileSync(apiCertPath, 'utf8');
    apiPrivateKeyPem = readFileSync(apiKeyPath, 'utf8');
  }

  const adminTokenPath = join(dataDir, 'admin-token');
  // Hex, so the token never starts with '-' and reads as an option on a command line (kubeha --token ...).
  if (!existsSync(adminTokenPath)) writePrivate(adminTokenPath, `${randomBytes(32).toString('hex')}\n`);
  chmodSync(adminTokenPath, 0o600);
  chmodSync(caKeyPath, 0o600);
  chmodSync(serverKeyPath, 0o600);

  return {
    ca,
    serverCertificatePem: readFileSync(serverCertPath, 'utf8'),
    serverPrivateKeyPem: readFileSync(serverKeyPath, 'utf8'),
    adminToken: readFileSync(adminTokenPath, 'utf8').trim(),
    adminTokenPath,
    ...(apiCertificatePem && apiPrivateKeyPem ? { apiCertificatePem, apiPrivateKeyPem } : {}),
  };
}
