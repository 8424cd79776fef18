import { describe, expect, it } from 'vitest';
import { runStep } from '../../step-execution/step-runner.ts';
import { hostPrepStep } from '../host-prep.ts';
import { cpParams, cpPorts, freshNode, stubFirewallAdds } from './host-prep-node.fixture.ts';

describe('host-prep kernel', () => {
  it('GIVEN a stale third-party sysctl file with a key this kernel lacks THEN it applies only its own file and warns', async () => {
    // GIVEN sysctl --system exits 1 on this node, as procps does when any file names a missing key
    const { host, state } = freshNode('rocky-9');
    stubFirewallAdds(host, state, cpPorts, ['rule protocol value="vrrp" accept']);
    host.setFile('/etc/sysctl.d/50-tuning.conf', '# old tuning\nnet.ipv4.tcp_tw_recycle = 0\n-net.ipv4.gone = 1\n');
    host.setFile('/usr/lib/sysctl.d/99-zz-vendor.conf', 'net.ipv4.ip_forward = 0\n');
    host.stub('sysctl', ['--system'], { exitCode: 1, stderr: 'sysctl: cannot stat /proc/sys/net/ipv4/tcp_tw_recycle' });
    const logs: string[] = [];
    // WHEN host-prep runs
    const result = await runStep(hostPrepStep, cpParams, { host, onLog: (_s, line) => logs.push(line) });
    // THEN it succeeds with kubeha's own file applied and verified
    expect(result.error).toBeUndefined();
    expect(result.outcome).toBe('succeeded');
    expect(host.commandLines()).toContain('sysctl -p /etc/sysctl.d/99-kubeha.conf');
    expect(host.commandLines()).not.toContain('sysctl --system');
    expect(host.file('/proc/sys/net/ipv4/ip_forward')).toBe('1\n');
    // AND the other files' problems are warnings naming the file and the key (the '-' key is skipped, as systemd does)
    const warnings = logs.filter((l) => l.startsWith('warning: '));
    expect(warnings).toContain(
      'warning: /etc/sysctl.d/50-tuning.conf sets net.ipv4.tcp_tw_recycle, which this kernel does not have (sysctl --system fails on it)',
    );
    expect(warnings.join('\n')).toContain(
      '/usr/lib/sysctl.d/99-zz-vendor.conf sets net.ipv4.ip_forward = 0 after /etc/sysctl.d/99-kubeha.conf',
    );
    expect(warnings.join('\n')).not.toContain('net.ipv4.gone');
  });
});
