import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as a number, so that subnet containment and overlap are plain integer arithmetic. */
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

function ipv4ToBigInt(text: string): bigint {
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(text: string): bigint {
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToBigInt(tail);
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const groupsOf = (s: string) => (s === '' ? [] : s.split(':').map((g) => BigInt(`0x${g}`)));
  let groups: bigint[];
  if (body.includes('::')) {
    const [head = '', rest = ''] = body.split('::');
    const headGroups = groupsOf(head);
    const restGroups = groupsOf(rest);
    groups = [...headGroups, ...new Array<bigint>(8 - headGroups.length - restGroups.length).fill(0n), ...restGroups];
  } else {
    groups = groupsOf(body);
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses "192.168.1.10" or "fd00::10"; undefined when it is neither. */
export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) return { family: 4, value: ipv4ToBigInt(text), text };
  if (isIPv6(text) && !text.includes('%')) return { family: 6, value: ipv6ToBigInt(text), text };
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

function mask(family: 4 | 6, prefixLength: number): bigint {
  const bits = BigInt(bitsOf(family));
  const hostBits = bits - BigInt(prefixLength);
  return ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
}

export function networkOf(address: IpAddress, prefixLength: number): IpNetwork {
  return {
    family: address.family,
    network: address.value & mask(address.family, prefixLength),
    prefixLength,
    text: `${address.text}/${prefixLength}`,
  };
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

export function formatIp(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((value >> s) & 0xffffn).toString(16));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`;
}

export function networkContains(net: IpNetwork, address: IpAddress): boolean {
  return net.family === address.family && (address.value & mask(net.family, net.prefixLength)) === net.network;
}

/** Two networks overlap exactly when one contains the other's first address. */
export function networksOverlap(a: IpNetwork, b: IpNetwork): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.prefixLength <= b.prefixLength ? a : b;
  const longer = shorter === a ? b : a;
  return (longer.network & mask(shorter.family, shorter.prefixLength)) === shorter.network;
}

/** Why an address cannot be a node address or a VIP, or undefined when it can. */
export function unusableAddressReason(address: IpAddress): string | undefined {
  if (address.family === 4) {
    if (address.value === 0n) return 'the unspecified address';
    if (address.value >> 24n === 127n) return 'a loopback address';
    if (address.value >> 28n === 0xen) return 'a multicast address';
    if (address.value === 0xffffffffn) return 'the broadcast address';
    return undefined;
  }
  if (address.value === 0n) return 'the unspecified address';
  if (address.value === 1n) return 'a loopback address';
  if (address.value >> 120n === 0xffn) return 'a multicast address';
  return undefined;
}

/** "10.0.0.1:6443", "[fd00::1]:6443". */
export function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
