import { describe, expect, it } from 'vitest';
import { canonicalAddress, parseInterfaceAddresses } from './interface-addresses.ts';

describe('parseInterfaceAddresses', () => {
  it('GIVEN ip -o address show output WHEN parsed THEN each address with its interface and prefix', () => {
    const output = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '2: eth0    inet 192.168.1.11/24 brd 192.168.1.255 scope global eth0\\       valid_lft forever preferred_lft forever',
      '2: eth0    inet 192.168.1.100/32 scope global eth0\\       valid_lft forever preferred_lft forever',
      '3: veth1@if4    inet6 FD00:0::64/128 scope global \\       valid_lft forever preferred_lft forever',
      'not an address line',
    ].join('\n');
    expect(parseInterfaceAddresses(output)).toEqual([
      { interface: 'lo', address: '127.0.0.1', prefixLength: 8 },
      { interface: 'eth0', address: '192.168.1.11', prefixLength: 24 },
      { interface: 'eth0', address: '192.168.1.100', prefixLength: 32 },
      { interface: 'veth1', address: 'fd00::64', prefixLength: 128 },
    ]);
  });

  it('GIVEN two spellings of one IPv6 address WHEN made canonical THEN equal; IPv4 unchanged', () => {
    expect(canonicalAddress('FD00:0:0::64')).toBe(canonicalAddress('fd00::64'));
    expect(canonicalAddress('10.0.0.1')).toBe('10.0.0.1');
  });
});
