import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/** An IP address; `value` is its bits as one number, so that addresses of a family compare and sort as numbers. */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
  /** The address as written (without a prefix). */
  text: string;
}

export interface IpNetwork {
  family: 4 | 6;
  /** The network's first address (host bits cleared). */
  network: bigint;
  prefixLength: number;
  text: string;
}

export function bitsOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

function toParsed(family: 4 | 6, value: bigint): ipaddr.IPv4 | ipaddr.IPv6 {
  const length = bitsOf(family) / 8;
  const bytes = Array.from({ length }, (_, i) => Number((value >> BigInt(8 * (length - 1 - i))) & 0xffn));
  return ipaddr.fromByteArray(bytes);
}

function toValue(address: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return address.toByteArray().reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

/** Parses "192.168.1.10" or "fd00::10"; undefined when it is neither. */
export function parseIp(text: string): IpAddress | undefined {
  // node:net decides what is an address: ipaddr.js also takes forms such as "10.1" or octal "010.0.0.1".
  if (isIPv4(text)) return { family: 4, value: toValue(ipaddr.IPv4.parse(text)), text };
  if (isIPv6(text) && !text.includes('%')) return { family: 6, value: toValue(ipaddr.IPv6.parse(text)), text };
  return undefined;
}

/** Splits "192.168.1.10/24" into the address and the prefix length; the prefix is undefined when absent. */
export function splitPrefix(text: string): { address: string; prefixLength?: number; prefixText?: string } {
  const slash = text.indexOf('/');
  if (slash < 0) return { address: text };
  const prefixText = text.slice(slash + 1);
  const prefixLength = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  return { address: text.slice(0, slash), prefixLength, prefixText };
}

export function networkOf(address: IpAddress, prefixLength: number): IpNetwork {
  const first =
    address.family === 4
      ? ipaddr.IPv4.networkAddressFromCIDR(`${formatIp(4, address.value)}/${prefixLength}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${formatIp(6, address.value)}/${prefixLength}`);
  return { family: address.family, network: toValue(first), prefixLength, text: `${address.text}/${prefixLength}` };
}

export type ParsedCidr = { ok: true; network: IpNetwork } | { ok: false; problem: string };

/** Parses a network "10.244.0.0/16": the address must be the network's first address. */
export function parseCidr(text: string): ParsedCidr {
  const { address, prefixLength } = splitPrefix(text);
  const ip = parseIp(address);
  if (!ip || prefixLength === undefined) return { ok: false, problem: `${text} is not a CIDR (e.g. 10.244.0.0/16)` };
  if (Number.isNaN(prefixLength) || prefixLength > bitsOf(ip.family)) {
    return { ok: false, problem: `${text} has an invalid prefix length (0-${bitsOf(ip.family)})` };
  }
  const network = networkOf(ip, prefixLength);
  if (network.network !== ip.value) {
    return {
      ok: false,
      problem: `${text} has host bits set (the network is ${formatIp(network.family, network.network)}/${prefixLength})`,
    };
  }
  return { ok: true, network: { ...network, text } };
}

/** The address in its one canonical spelling (RFC 5952 for IPv6: lowercase, longest zero run as "::"). */
export function formatIp(family: 4 | 6, value: bigint): string {
  return toParsed(family, value).toString();
}

/**
 * toParsed of the address `value` picks out of an object, parsed once per object: the spec's rules ask about the same
 * few addresses and networks many times (every node against every network).
 */
function parsedOnce<T extends { family: 4 | 6 }>(value: (of: T) => bigint) {
  const parsed = new WeakMap<T, ipaddr.IPv4 | ipaddr.IPv6>();
  return (of: T): ipaddr.IPv4 | ipaddr.IPv6 => {
    let known = parsed.get(of);
    if (!known) {
      known = toParsed(of.family, value(of));
      parsed.set(of, known);
    }
    return known;
  };
}

const parsedAddress = parsedOnce((address: IpAddress) => address.value);
const parsedNetwork = parsedOnce((net: IpNetwork) => net.network);

export function networkContains(net: IpNetwork, address: IpAddress): boolean {
  if (net.family !== address.family) return false;
  return parsedAddress(address).match(parsedNetwork(net), net.prefixLength);
}

/** Two networks overlap exactly when one contains the other's first address. */
export function networksOverlap(a: IpNetwork, b: IpNetwork): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.prefixLength <= b.prefixLength ? a : b;
  const longer = shorter === a ? b : a;
  return parsedNetwork(longer).match(parsedNetwork(shorter), shorter.prefixLength);
}

const unusableRanges = [
  { range: ipaddr.parseCIDR('127.0.0.0/8'), reason: 'a loopback address' },
  { range: ipaddr.parseCIDR('224.0.0.0/4'), reason: 'a multicast address' },
  { range: ipaddr.parseCIDR('255.255.255.255/32'), reason: 'the broadcast address' },
  { range: ipaddr.parseCIDR('::1/128'), reason: 'a loopback address' },
  { range: ipaddr.parseCIDR('ff00::/8'), reason: 'a multicast address' },
];

/** Why an address cannot be a node address or a VIP, or undefined when it can. */
export function unusableAddressReason(address: IpAddress): string | undefined {
  if (address.value === 0n) return 'the unspecified address';
  const parsed = parsedAddress(address);
  return unusableRanges.find(({ range }) => range[0].kind() === parsed.kind() && parsed.match(range))?.reason;
}
