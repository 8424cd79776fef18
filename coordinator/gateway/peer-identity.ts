import type { PeerCertificate } from 'node:tls';

/** The agent id (CN) and serial of a TLS-verified client certificate, or undefined without one. */
export function peerIdentity(
  certificate: PeerCertificate | undefined,
): { agentId: string; serial: string } | undefined {
  if (!certificate?.raw) return undefined;
  const cn = certificate.subject?.CN;
  const agentId = Array.isArray(cn) ? cn[0] : cn;
  if (!agentId) return undefined;
  return { agentId, serial: normaliseSerial(certificate.serialNumber) };
}

export function normaliseSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+/, '');
}
