import { describe, expect, it } from 'vitest';
import { ErrorCode, isKubehaError } from '../../common/errors.ts';
import { type HaproxyConfigInput, renderHaproxyConfig } from './haproxy-config.ts';

function input(overrides: Partial<HaproxyConfigInput> = {}): HaproxyConfigInput {
  return {
    lbPort: 16443,
    apiserverOnThisNode: true,
    backends: [
      { name: 'k8s-master1', address: '192.168.1.10' },
      { name: 'k8s-master2', address: '192.168.1.11' },
      { name: 'k8s-master3', address: 'fd00::12' },
    ],
    checkIntervalMs: 2000,
    checkFall: 2,
    checkRise: 2,
    ...overrides,
  };
}

describe('renderHaproxyConfig', () => {
  it('renders a TCP frontend on the LB port and HTTPS /healthz checks of every apiserver', () => {
    const text = renderHaproxyConfig(input());
    expect(text).toContain('frontend kubeha-apiserver\n    bind *:16443\n    mode tcp\n');
    expect(text).toContain('    option httpchk GET /healthz\n    http-check expect status 200\n');
    expect(text).toContain('    server k8s-master1 192.168.1.10:6443 check check-ssl verify none\n');
    expect(text).toContain('    server k8s-master3 ipv6@fd00::12:6443 check check-ssl verify none\n');
    expect(text).toContain('    default-server inter 2000ms fall 2 rise 2\n');
    // HAProxy 1.8 (EL8) cannot parse these.
    expect(text).not.toContain('http-check send');
    expect(text).not.toContain('http-check connect');
    expect(text).not.toContain('log stdout');
  });

  it('lets a dedicated load-balancer node (no apiserver) listen on 6443', () => {
    expect(renderHaproxyConfig(input({ lbPort: 6443, apiserverOnThisNode: false }))).toContain('    bind *:6443\n');
  });

  it.each([
    [{ lbPort: 6443 }, "lbPort: 6443 is the apiserver's own port"],
    [{ lbPort: 0 }, 'lbPort: 0 is not a TCP port'],
    [{ lbPort: 70000 }, 'lbPort: 70000 is not a TCP port'],
    [{ backends: [] }, 'backends: at least one control plane is needed'],
    [{ backends: [{ name: 'Bad_Name', address: '10.0.0.1' }] }, 'backends[0].name: "Bad_Name" is not an RFC 1123 name'],
    [{ backends: [{ name: 'cp1', address: '10.0.0.1:6443' }] }, 'backends[0].address: "10.0.0.1:6443" is not an IPv4'],
    [
      {
        backends: [
          { name: 'cp1', address: '10.0.0.1' },
          { name: 'cp1', address: '10.0.0.2' },
        ],
      },
      'backends[1].name: "cp1" appears twice',
    ],
    [{ checkFall: 0 }, 'checkFall: 0 is outside 1..100'],
  ] as const)('refuses %o naming the field', (overrides, message) => {
    let caught: unknown;
    try {
      renderHaproxyConfig(input(overrides as Partial<HaproxyConfigInput>));
    } catch (error) {
      caught = error;
    }
    expect(isKubehaError(caught, ErrorCode.paramsInvalid)).toBe(true);
    expect((caught as Error).message).toContain(message);
  });
});
