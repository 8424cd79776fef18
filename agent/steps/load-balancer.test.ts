import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { FakeHost } from '../host/fake-host.ts';
import { fakeOsState } from '../host/fake-os-state.ts';
import { runStep } from '../step-execution/step-runner.ts';
import {
  createLoadBalancerStep,
  haproxyCfgPath,
  keepalivedConfPath,
  keepalivedHasConfigTest,
  type LoadBalancerParams,
  loadBalancerStep,
} from './load-balancer.ts';

const params = {
  mode: 'haproxy-keepalived',
  nodeName: 'k8s-master1',
  vip: '192.168.1.6',
  vipPrefixLength: 24,
  interface: 'ens224',
  virtualRouterId: 51,
  priority: 250,
  authPass: 'Xy7pQ2wz',
  multicast: false,
  unicastSrcIp: '192.168.1.10',
  unicastPeers: ['192.168.1.11', '192.168.1.12'],
  lbPort: 0,
  backends: [
    { name: 'k8s-master1', address: '192.168.1.10', role: 'control-plane' },
    { name: 'k8s-master2', address: '192.168.1.11', role: 'control-plane' },
    { name: 'k8s-master3', address: '192.168.1.12', role: 'control-plane' },
  ],
  checkIntervalS: 0,
  checkFall: 0,
  checkRise: 0,
  checkWeight: 0,
  advertIntS: 0,
  preempt: false,
};

const keepalivedNew = `${keepalivedConfPath}.kubeha-new`;
const haproxyNew = `${haproxyCfgPath}.kubeha-new`;

const bothPackages = ['keepalived', 'haproxy'];
const queries = [bothPackages, ['keepalived']];
const running = { enabled: true, active: true };

const trackDir = '/run/keepalived-kubeha';

/** SELinux enforcing: the verdict's directory is unlabelled until restorecon gives it the policy's type. */
function withSelinux(host: FakeHost): FakeHost {
  let label = '';
  return host
    .stub('getenforce', [], { stdout: 'Enforcing\n' })
    .stub('stat', ['-c', '%C', trackDir], { stdout: () => `${label}\n` })
    .stub('restorecon', ['-F', trackDir], {
      effect: () => {
        label = 'system_u:object_r:keepalived_var_run_t:s0';
      },
    });
}

/** The commands that ran, without the read-only probes. */
function changingCommands(host: FakeHost): string[] {
  return host.commandLines().filter((c) => !/^(rpm -q|systemctl is-|getenforce|stat -c %C)/.test(c));
}

/** A host where keepalived and haproxy are installed, enabled and running. */
function installedHost(files: Record<string, string> = {}): FakeHost {
  const host = withSelinux(new FakeHost({ files }));
  fakeOsState(host, {
    packages: { keepalived: '2.2.8', haproxy: '2.8.3' },
    units: { keepalived: running, haproxy: running },
    queries,
  });
  return host;
}

/** A host where nothing is installed yet: dnf installs both (once), systemctl enable --now starts each (once). */
function freshHost(): FakeHost {
  const host = withSelinux(new FakeHost());
  const os = fakeOsState(host, { units: { keepalived: {}, haproxy: {} }, queries });
  host.expect('dnf', ['install', '-y', ...bothPackages], {
    effect: () => {
      os.install('keepalived', '2.2.8');
      os.install('haproxy', '2.8.3');
    },
  });
  for (const unit of bothPackages) {
    host.expect('systemctl', ['enable', '--now', unit], { effect: () => os.setUnit(unit, running) });
  }
  host.stub('keepalived', ['--version'], { stderr: 'Keepalived v2.2.8 (04/04,2023), git commit v2.2.7-154\n' });
  return host;
}

/** A host where a first run of the step succeeded: both configs written and validated, both daemons running. */
async function deployedHost(): Promise<FakeHost> {
  const host = installedHost();
  host.stub('keepalived', ['--version'], { stderr: 'Keepalived v2.2.8\n' });
  host.stub('keepalived', ['-t', '-l', '-f', keepalivedNew]).stub('haproxy', ['-c', '-f', haproxyNew]);
  host.stub('systemctl', ['reload-or-restart', 'keepalived']).stub('systemctl', ['reload-or-restart', 'haproxy']);
  expect((await runStep(loadBalancerStep, params, { host })).outcome).toBe('succeeded');
  return host;
}

describe('load-balancer step', () => {
  it('GIVEN a fresh control plane WHEN applied THEN it installs, validates before installing, starts, and a second run changes nothing', async () => {
    const host = freshHost()
      .expect('keepalived', ['-t', '-l', '-f', keepalivedNew])
      .expect('systemctl', ['reload-or-restart', 'keepalived'])
      .expect('haproxy', ['-c', '-f', haproxyNew])
      .expect('systemctl', ['reload-or-restart', 'haproxy']);

    const result = await runStep(loadBalancerStep, params, { host });

    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes).toEqual([
      'install keepalived haproxy',
      "create /run/keepalived-kubeha (0755: the agent's verdict for keepalived)",
      'label /run/keepalived-kubeha keepalived_var_run_t so that keepalived may read the verdict (restorecon -F; now new)',
      'write /etc/haproxy/haproxy.cfg (validated with haproxy -c) and reload haproxy',
      'write /etc/keepalived/keepalived.conf (validated with keepalived -t) and reload keepalived',
      'enable and start haproxy (systemctl enable --now haproxy)',
      'enable and start keepalived (systemctl enable --now keepalived)',
    ]);
    host.assertNoPendingExpectations();
    const conf = host.file(keepalivedConfPath) ?? '';
    expect(conf).toContain('    script "/usr/libexec/kubeha/check-apiserver https://127.0.0.1:16443/readyz"\n');
    expect(conf).toContain('    interval 1\n    timeout 3\n    fall 2\n    rise 2\n    weight 0\n');
    expect(conf).toContain('    file "/run/keepalived-kubeha/vrrp-status"\n');
    expect(host.file(haproxyCfgPath)).toContain('    bind *:16443\n');
    expect(await host.fileMode(keepalivedConfPath)).toBe(0o600);
    expect(await host.exists(keepalivedNew)).toBe(false);
    expect(JSON.stringify(result)).not.toContain('Xy7pQ2wz');

    host.clearRecords();
    const again = await runStep(loadBalancerStep, params, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
    expect(changingCommands(host)).toEqual([]);
  });

  it('GIVEN a keepalived.conf the validator refuses WHEN applied THEN the old file stays, nothing reloads, and the step fails with the validator message', async () => {
    const old = '! the old, working configuration\n';
    const host = installedHost({ [keepalivedConfPath]: old });
    host.stub('keepalived', ['--version'], { stderr: 'Keepalived v2.2.8 (04/04,2023)\n' });
    host.expect('keepalived', ['-t', '-l', '-f', keepalivedNew], {
      exitCode: 4,
      stderr: '(kubeha_api) Unknown interface!\nauth_pass Xy7pQ2wz rejected\n',
    });

    const result = await runStep(loadBalancerStep, { ...params, mode: 'keepalived' }, { host });

    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toContain(
      'keepalived refused the generated /etc/keepalived/keepalived.conf (exit 4)',
    );
    expect(result.error?.message).toContain('Unknown interface!');
    expect(JSON.stringify(result)).not.toContain('Xy7pQ2wz');
    expect(host.file(keepalivedConfPath)).toBe(old);
    expect(await host.exists(keepalivedNew)).toBe(false);
    expect(host.commandLines()).not.toContain('systemctl reload-or-restart keepalived');
  });

  it('GIVEN a haproxy.cfg the validator refuses WHEN applied THEN haproxy.cfg stays and keepalived is not touched', async () => {
    const host = installedHost({ [haproxyCfgPath]: 'unchanged' });
    host.expect('haproxy', ['-c', '-f', haproxyNew], { exitCode: 1, stderr: "[ALERT] unknown keyword 'bind2'\n" });

    const result = await runStep(loadBalancerStep, params, { host });

    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toContain('haproxy refused the generated /etc/haproxy/haproxy.cfg (exit 1)');
    expect(result.error?.message).toContain("unknown keyword 'bind2'");
    expect(host.file(haproxyCfgPath)).toBe('unchanged');
    expect(host.file(keepalivedConfPath)).toBeUndefined();
    expect(host.commandLines().filter((c) => c.startsWith('systemctl reload') || c.startsWith('keepalived'))).toEqual(
      [],
    );
    host.assertNoPendingExpectations();
  });

  it('GIVEN keepalived older than 2.0.4 WHEN applied THEN it installs without -t and says so', async () => {
    const host = installedHost();
    host.stub('keepalived', ['--version'], { stderr: 'Keepalived v1.3.5 (03/19,2017)\n' });
    host.expect('systemctl', ['reload-or-restart', 'keepalived']);
    const logs: string[] = [];
    const result = await runStep(
      loadBalancerStep,
      { ...params, mode: 'keepalived' },
      { host, onLog: (_s, t) => logs.push(t) },
    );
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(logs.some((l) => l.includes('has no -t'))).toBe(true);
    expect(host.file(keepalivedConfPath)).toContain('https://127.0.0.1:6443/readyz');
    expect(host.file(haproxyCfgPath)).toBeUndefined();
    host.assertNoPendingExpectations();
  });

  it('GIVEN bad parameters THEN it refuses before running anything, naming each field', async () => {
    const host = new FakeHost();
    const result = await runStep(
      loadBalancerStep,
      { ...params, virtualRouterId: 256, lbPort: 6443, interface: 'eth0; reboot', authPass: 'far-too-long' },
      { host },
    );
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ code: ErrorCode.paramsInvalid, deterministic: true });
    for (const field of ['virtualRouterId', 'interface', 'authPass']) expect(result.error?.message).toContain(field);
    expect(result.error?.message).not.toContain('far-too-long');
    expect(host.commands).toEqual([]);
  });

  it('GIVEN keepalived.conf with the right bytes but mode 0644 THEN only the mode is fixed, nothing reloads', async () => {
    const first = await deployedHost();
    first.setFile(keepalivedConfPath, first.file(keepalivedConfPath) ?? '', 0o644);
    first.clearRecords();

    const result = await runStep(loadBalancerStep, params, { host: first });

    expect(result).toMatchObject({
      outcome: 'succeeded',
      changed: true,
      changes: ['set the mode of /etc/keepalived/keepalived.conf to 0600 (now 0644)'],
    });
    expect(await first.fileMode(keepalivedConfPath)).toBe(0o600);
    expect(changingCommands(first)).toEqual([]);
  });

  it('GIVEN keepalived.conf (it holds auth_pass) owned by another user THEN only the owner is fixed, nothing reloads', async () => {
    const host = await deployedHost();
    host.setFile(keepalivedConfPath, host.file(keepalivedConfPath) ?? '', 0o600, { uid: 1000, gid: 1000 });
    host.clearRecords();

    const result = await runStep(loadBalancerStep, params, { host });

    expect(result).toMatchObject({
      outcome: 'succeeded',
      changed: true,
      changes: ['set the owner of /etc/keepalived/keepalived.conf to 0:0 (now 1000:1000)'],
    });
    expect(host.chowns).toEqual(['/etc/keepalived/keepalived.conf 0:0']);
    expect(changingCommands(host)).toEqual([]);
  });

  it('GIVEN lbPort 6443 THEN HAProxy is refused naming lbPort', () => {
    expect(() => loadBalancerStep.parseParams({ ...params, lbPort: 6443 })).toThrow(/lbPort: 6443/);
  });

  it('fills the fields proto3 sends as 0 with their defaults', () => {
    const step = createLoadBalancerStep({ checkScript: '/opt/kubeha/check', trackFile: '/run/x/verdict' });
    const parsed: LoadBalancerParams = step.parseParams(params);
    expect(parsed).toMatchObject({ lbPort: 16443, checkIntervalS: 1, checkFall: 2, checkRise: 2, advertIntS: 1 });
  });
});

describe('keepalivedHasConfigTest', () => {
  it.each([
    ['Keepalived v2.2.7 (01/16,2022)', true],
    ['Keepalived v2.0.4 (05/24,2018)', true],
    ['Keepalived v2.0.3', false],
    ['Keepalived v1.3.5 (03/19,2017)', false],
    ['garbage', false],
  ] as const)('%s -> %s', (output, expected) => {
    expect(keepalivedHasConfigTest(output)).toBe(expected);
  });
});
