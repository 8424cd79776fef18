import { isIP } from 'node:net';

export { kubeadmPatterns } from '../../proto/step-params/value-patterns.ts';

/** A problem with an endpoint that the pattern cannot see (port range, IP literal), or undefined. */
export function endpointProblem(endpoint: string): string | undefined {
  const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
  if (port < 1 || port > 65535) return 'port must be 1-65535';
  const host = endpoint.slice(0, endpoint.lastIndexOf(':'));
  if (host.startsWith('[')) return isIP(host.slice(1, -1)) === 6 ? undefined : 'not an IPv6 address in brackets';
  if (/^[0-9.]+$/.test(host)) return isIP(host) === 4 ? undefined : 'not an IPv4 address';
  return undefined;
}

/** A problem with a CIDR that the pattern cannot see, or undefined. */
export function cidrProblem(cidr: string): string | undefined {
  const [address = '', prefix = ''] = cidr.split('/');
  const family = isIP(address);
  if (family === 0) return 'not an IP network';
  return Number(prefix) > (family === 4 ? 32 : 128) ? 'prefix length too long' : undefined;
}

/** The https URL of an endpoint. */
export function endpointUrl(endpoint: string): string {
  return `https://${endpoint}`;
}
