import { describe, expect, it } from 'vitest';
import {
  formatIp,
  networkContains,
  networksOverlap,
  parseCidr,
  parseIp,
  splitPrefix,
  unusableAddressReason,
} from './ip-address.ts';

function cidr(text: string) {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.network;
}

describe('parseIp', () => {
  it.each([
    ['192.168.1.10', 4, 0xc0a8010an],
    ['0.0.0.0', 4, 0n],
    ['::1', 6, 1n],
    ['fd00::10', 6, 0xfd000000000000000000000000000010n],
    ['fd00:0:0:0:0:0:0:10', 6, 0xfd000000000000000000000000000010n],
    ['::ffff:192.168.1.1', 6, 0xffffc0a80101n],
    ['2001:db8::', 6, 0x20010db8000000000000000000000000n],
  ])('%s is IPv%i %s', (text, family, value) => {
    expect(parseIp(text)).toEqual({ family, value, text });
  });

  it.each(['192.168.1', '192.168.1.256', '10.0.0.1/24', 'fe80::1%eth0', 'host.example', '', ':::'])(
    '%s is not an address',
    (text) => {
      expect(parseIp(text)).toBeUndefined();
    },
  );
});

describe('splitPrefix', () => {
  it.each([
    ['10.0.0.1', { address: '10.0.0.1' }],
    ['10.0.0.1/24', { address: '10.0.0.1', prefixLength: 24, prefixText: '24' }],
    ['fd00::1/64', { address: 'fd00::1', prefixLength: 64, prefixText: '64' }],
  ])('%s', (text, expected) => {
    expect(splitPrefix(text)).toEqual(expected);
  });

  it('marks a prefix that is not a number', () => {
    expect(splitPrefix('10.0.0.1/x').prefixLength).toBeNaN();
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.244.0.0', 'is not a CIDR'],
    ['10.244.0.0/33', 'invalid prefix length (0-32)'],
    ['fd00::/129', 'invalid prefix length (0-128)'],
    ['10.244.1.0/16', 'has host bits set (the network is 10.244.0.0/16)'],
    ['fd00::1/64', 'has host bits set (the network is fd00::/64)'],
    ['nonsense/8', 'is not a CIDR'],
  ])('refuses %s: %s', (text, problem) => {
    const parsed = parseCidr(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });

  it('accepts a network and keeps its text', () => {
    expect(cidr('10.96.0.0/12')).toEqual({ family: 4, network: 0x0a600000n, prefixLength: 12, text: '10.96.0.0/12' });
  });
});

describe('containment and overlap', () => {
  it.each([
    ['10.244.0.0/16', '10.244.255.255', true],
    ['10.244.0.0/16', '10.245.0.0', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['fd00::/64', 'fd00::ffff', true],
    ['fd00::/64', 'fd00:0:0:1::', false],
    ['10.0.0.0/8', '::ffff:10.0.0.1', false],
  ])('%s contains %s: %s', (net, address, expected) => {
    expect(networkContains(cidr(net), parseIp(address)!)).toBe(expected);
  });

  it.each([
    ['10.244.0.0/16', '10.96.0.0/12', false],
    ['10.0.0.0/8', '10.96.0.0/12', true],
    ['10.96.0.0/12', '10.0.0.0/8', true],
    ['10.96.0.0/12', '10.111.0.0/16', true],
    ['10.96.0.0/12', '10.112.0.0/16', false],
    ['fd00::/56', 'fd00:0:0:ff::/64', true],
    ['10.0.0.0/8', 'fd00::/8', false],
  ])('%s and %s overlap: %s', (a, b, expected) => {
    expect(networksOverlap(cidr(a), cidr(b))).toBe(expected);
  });
});

describe('formatting', () => {
  it.each([
    [4, 0x0a600000n, '10.96.0.0'],
    [6, 0n, '::'],
    [6, 1n, '::1'],
    [6, 0xfd000000000000000000000000000010n, 'fd00::10'],
    [6, 0x20010db8000000010000000000000001n, '2001:db8:0:1::1'],
    [6, 0x00010002000300040005000600070008n, '1:2:3:4:5:6:7:8'],
  ] as const)('IPv%i %s is %s', (family, value, text) => {
    expect(formatIp(family, value)).toBe(text);
  });
});

describe('unusableAddressReason', () => {
  it.each([
    ['0.0.0.0', 'the unspecified address'],
    ['127.0.0.53', 'a loopback address'],
    ['224.0.0.18', 'a multicast address'],
    ['255.255.255.255', 'the broadcast address'],
    ['::', 'the unspecified address'],
    ['::1', 'a loopback address'],
    ['ff02::12', 'a multicast address'],
    ['192.168.1.10', undefined],
    ['fd00::10', undefined],
  ])('%s: %s', (text, reason) => {
    expect(unusableAddressReason(parseIp(text)!)).toBe(reason);
  });
});
