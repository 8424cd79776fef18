import { describe, expect, it } from 'vitest';
import { formatHostPort } from './format-host-port.ts';

describe('formatHostPort', () => {
  it('brackets IPv6 in host:port', () => {
    expect(formatHostPort('10.0.0.6', 16443)).toBe('10.0.0.6:16443');
    expect(formatHostPort('fd00::6', 16443)).toBe('[fd00::6]:16443');
  });

  it('leaves a host name as it is', () => {
    expect(formatHostPort('coordinator.example', 9443)).toBe('coordinator.example:9443');
  });
});
