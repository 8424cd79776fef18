import { isIP } from 'node:net';

export interface InterfaceAddress {
  interface: string;
  address: string;
  prefixLength: number;
}

/** One spelling per address: IPv6 lowercased and compressed ("FD00:0::64" and "fd00::64" are the same). */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase();
  }
}

/** `ip -o address show`: "2: eth0    inet 10.0.0.100/32 scope global eth0\ ..." (inet6 likewise); other lines skipped. */
export function parseInterfaceAddresses(output: string): InterfaceAddress[] {
  const found: InterfaceAddress[] = [];
  for (const line of output.split('\n')) {
    const match = /^\d+:\s+(\S+?)(@\S+)?\s+inet6?\s+([0-9A-Fa-f:.]+)\/(\d+)/.exec(line.trim());
    if (!match) continue;
    found.push({ interface: match[1]!, address: canonicalAddress(match[3]!), prefixLength: Number(match[4]) });
  }
  return found;
}
