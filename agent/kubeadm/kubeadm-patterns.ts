import { isIP } from 'node:net';

/** Strict shapes of the kubeadm values that reach a config file or a command line. */
export const kubeadmPatterns = {
  bootstrapToken: '^[a-z0-9]{6}\\.[a-z0-9]{16}$',
  /** A token id ("abcdef") or a whole token. */
  bootstrapTokenOrId: '^[a-z0-9]{6}(\\.[a-z0-9]{16})?$',
  certificateKey: '^[0-9a-f]{64}$',
  caCertHash: '^sha256:[0-9a-f]{64}$',
  /** "10.0.0.6:16443", "[fd00::6]:16443" or "api.example.com:16443". */
  endpoint: '^(\\[[0-9a-fA-F:.]+\\]|[0-9.]+|[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?):[0-9]{1,5}$',
  cidr: '^[0-9a-fA-F:.]+/[0-9]{1,3}$',
  address: '^[0-9a-fA-F:.]{2,45}$',
  /** "https://192.168.1.11:2380" or "https://[fd00::11]:2380". */
  etcdPeerUrl: '^https://(\\[[0-9a-fA-F:.]{2,45}\\]|[0-9.]{7,15}):[0-9]{1,5}$',
  /** Free text kubeadm stores with a token. */
  description: '^[A-Za-z0-9 ._:/()-]{0,200}$',
} as const;

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
