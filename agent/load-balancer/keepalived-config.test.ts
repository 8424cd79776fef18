import { describe, expect, it } from 'vitest';
import { ErrorCode, isKubehaError } from '../../common/errors.ts';
import { type KeepalivedConfigInput, renderKeepalivedConfig } from './keepalived-config.ts';

function input(overrides: Partial<KeepalivedConfigInput> = {}): KeepalivedConfigInput {
  return {
    nodeName: 'k8s-master1',
    interface: 'ens224',
    virtualRouterId: 51,
    priority: 250,
    vip: '192.168.1.6',
    vipPrefixLength: 24,
    authPass: 'Xy7pQ2wz',
    multicast: false,
    unicastSrcIp: '192.168.1.10',
    unicastPeers: ['192.168.1.11', '192.168.1.12'],
    nodeAddresses: ['192.168.1.10', '192.168.1.11', '192.168.1.12'],
    advertIntS: 1,
    preempt: false,
    check: {
      command: ['/usr/libexec/kubeha/check-apiserver', 'https://127.0.0.1:16443/readyz'],
      intervalS: 1,
      timeoutS: 3,
      fall: 2,
      rise: 2,
      weight: 0,
    },
    trackFile: '/run/keepalived-kubeha/vrrp-status',
    ...overrides,
  };
}

function refusal(overrides: Partial<KeepalivedConfigInput>): string {
  try {
    renderKeepalivedConfig(input(overrides));
  } catch (error) {
    expect(isKubehaError(error, ErrorCode.paramsInvalid)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected the input to be refused');
}

describe('renderKeepalivedConfig', () => {
  it('renders one keyword per line, every instance BACKUP, unicast peers, weight 0 and the track file', () => {
    const text = renderKeepalivedConfig(input());
    expect(text).not.toContain(';');
    for (const line of text.split('\n')) {
      expect(
        line
          .trim()
          .split(/\s+/)
          .filter((w) => w === '{').length,
      ).toBeLessThanOrEqual(1);
    }
    expect(text).toContain('    state BACKUP\n');
    expect(text).toContain('    nopreempt\n');
    expect(text).toContain(
      '    unicast_src_ip 192.168.1.10\n    unicast_peer {\n        192.168.1.11\n        192.168.1.12\n    }',
    );
    expect(text).toContain(
      '    script "/usr/libexec/kubeha/check-apiserver https://127.0.0.1:16443/readyz"\n    interval 1\n',
    );
    expect(text).toContain('    fall 2\n    rise 2\n    weight 0\n');
    expect(text).toContain('    script_user root\n    enable_script_security\n');
    expect(text).toContain('        192.168.1.6/24 dev ens224\n');
    expect(text).toContain('    file "/run/keepalived-kubeha/vrrp-status"\n    weight 0\n    init_file 0 overwrite\n');
    expect(text).toContain('    track_file {\n        kubeha_agent_verdict\n    }');
  });

  it('renders multicast without unicast lines and preempting instances without nopreempt', () => {
    const text = renderKeepalivedConfig(
      input({ multicast: true, preempt: true, check: { ...input().check, weight: -10 }, trackFile: undefined }),
    );
    expect(text).not.toContain('unicast');
    expect(text).not.toContain('nopreempt');
    expect(text).not.toContain('track_file');
    expect(text).toContain('    weight -10\n');
  });

  it.each([
    [{ interface: 'eth0;reboot' }, 'interface: "eth0;reboot" is not a Linux interface name'],
    [{ interface: 'a-very-long-interface0' }, 'interface: "a-very-long-interface0" is not a Linux interface name'],
    [{ interface: 'eth 0' }, 'interface: "eth 0" is not a Linux interface name'],
    [{ interface: '' }, 'interface: "" is not a Linux interface name'],
    [{ virtualRouterId: 0 }, 'virtualRouterId: 0 is outside 1..255'],
    [{ virtualRouterId: 256 }, 'virtualRouterId: 256 is outside 1..255'],
    [{ vip: '192.168.1.300' }, 'vip: "192.168.1.300" is not an IPv4 or IPv6 address'],
    [{ vip: 'api.example.com' }, 'vip: "api.example.com" is not an IPv4 or IPv6 address'],
    [{ vip: '192.168.1.11' }, "vip: 192.168.1.11 is a node's own address"],
    [{ priority: 0 }, 'priority: 0 is outside 1..254'],
    [{ priority: 255 }, 'priority: 255 is outside 1..254'],
    [{ priority: 1.5 }, 'priority: 1.5 is outside 1..254'],
    [{ authPass: 'ninechars' }, 'authPass: must be 1 to 8 characters (keepalived uses only 8), got 9'],
    [{ authPass: '' }, 'authPass: must be 1 to 8 characters'],
    [{ authPass: 'a b"c' }, 'authPass: only A-Z a-z 0-9'],
    [{ unicastPeers: [] }, 'unicastPeers: unicast needs at least one peer'],
    [{ unicastPeers: ['192.168.1.10'] }, "unicastPeers[0]: 192.168.1.10 is this node's own address"],
    [{ unicastSrcIp: 'me' }, 'unicastSrcIp: "me" is not an IPv4 or IPv6 address'],
    [{ vipPrefixLength: 33 }, 'vipPrefixLength: 33 is outside 1..32'],
    [{ advertIntS: 0 }, 'advertIntS: 0 is outside 1..255'],
    [{ check: { ...input().check, weight: -10 } }, 'checkWeight: must be 0 without preemption'],
    [
      { check: { ...input().check, command: ['check-apiserver'] } },
      'check.command: the first word must be an absolute path',
    ],
    [
      { check: { ...input().check, command: ['/bin/check', 'x"; rm'] } },
      'check.command[1]: "x"; rm" contains characters',
    ],
    [{ trackFile: 'relative/file' }, 'trackFile: "relative/file" is not an absolute path'],
  ] as const)('refuses %o naming the field', (overrides, message) => {
    expect(refusal(overrides as Partial<KeepalivedConfigInput>)).toContain(message);
  });

  it('names every problem at once and never prints the auth_pass', () => {
    const message = refusal({ virtualRouterId: 256, priority: 300, authPass: 'secret-too-long' });
    expect(message).toContain('virtualRouterId');
    expect(message).toContain('priority');
    expect(message).toContain('authPass');
    expect(message).not.toContain('secret-too-long');
  });
});
