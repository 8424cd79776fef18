import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { caCertHash } from '../../common/ca-hash.ts';
import { ErrorCode, KubehaError } from '../../common/errors.ts';

function toPem(der: Buffer): string {
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/**
 * Reads the coordinator's certificate chain without trusting it yet, and returns the CA only if its hash is the
 * pinned one (kubeadm's discovery pattern). Nothing secret is sent on this connection.
 */
export async function fetchPinnedCa(
  host: string,
  port: number,
  pinnedHash: string,
  timeoutMs = 10_000,
  /** The gateway speaks gRPC (h2); the REST API http/1.1. */
  alpnProtocols: string[] = ['h2'],
): Promise<string> {
  const chain = await new Promise<DetailedPeerCertificate>((resolve, reject) => {
    const socket = connect({
      host,
      port,
      rejectUnauthorized: false,
      ALPNProtocols: alpnProtocols,
      ...(isIP(host) ? {} : { servername: host }),
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(
        new KubehaError(
          ErrorCode.unavailable,
          `the coordinator at ${host}:${port} did not answer within ${timeoutMs} ms`,
        ),
      );
    });
    socket.once('secureConnect', () => {
      const certificate = socket.getPeerCertificate(true);
      socket.end();
      resolve(certificate);
    });
    socket.once('error', (cause) =>
      reject(
        new KubehaError(ErrorCode.unavailable, `cannot reach the coordinator at ${host}:${port}: ${cause.message}`, {
          cause,
        }),
      ),
    );
  });

  const seen = new Set<string>();
  let leaf: X509Certificate | undefined;
  let ca: X509Certificate | undefined;
  for (let current: DetailedPeerCertificate | undefined = chain; current?.raw; current = current.issuerCertificate) {
    const fingerprint = current.fingerprint256;
    if (seen.has(fingerprint)) break;
    seen.add(fingerprint);
    const certificate = new X509Certificate(current.raw);
    leaf ??= certificate;
    if (certificate.ca && certificate.checkIssued(certificate)) ca = certificate;
  }
  if (!leaf || !ca) {
    throw new KubehaError(
      ErrorCode.caHashMismatch,
      `the coordinator at ${host}:${port} did not present its CA certificate`,
    );
  }
  const presented = caCertHash(ca.toString());
  if (presented !== pinnedHash.toLowerCase()) {
    throw new KubehaError(
      ErrorCode.caHashMismatch,
      `refusing to enroll: the coordinator's CA hash is ${presented}, but --ca-cert-hash pins ${pinnedHash}. ` +
        'Nothing was sent. Check the hash printed by "kubeha token create".',
    );
  }
  if (!leaf.verify(ca.publicKey)) {
    throw new KubehaError(ErrorCode.caHashMismatch, 'the coordinator certificate is not signed by the pinned CA');
  }
  return toPem(ca.raw);
}
