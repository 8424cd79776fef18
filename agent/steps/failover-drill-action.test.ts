import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { failoverDrillActionStep } from './failover-drill-action.ts';
import { runStep } from './step-runner.ts';

const manifest = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const parked = '/etc/kubernetes/kube-apiserver.yaml.kubeha-drill';

/** systemctl on a fake machine where `unit` runs until stopped. */
function withService(host: FakeHost, unit: string, active: { value: boolean }): FakeHost {
  const realExec = host.exec.bind(host);
  host.exec = (command, args, options) => {
    if (command === 'systemctl' && args[0] === 'is-active') {
      host.commands.push({ command, args: [...args], commandLine: `systemctl ${args.join(' ')}` });
      return Promise.resolve({ commandLine: 'systemctl', exitCode: active.value ? 0 : 3, stdout: '', stderr: '' });
    }
    return realExec(command, args, options);
  };
  host.stub('systemctl', ['stop', unit], { effect: () => (active.value = false) });
  host.stub('systemctl', ['start', unit], { effect: () => (active.value = true) });
  return host;
}

describe('failover-drill-action stop-apiserver', () => {
  it('GIVEN a control plane WHEN applied THEN the manifest leaves the manifests directory; restored THEN it is back', async () => {
    const host = new FakeHost({ files: { [manifest]: 'kind: Pod\n' } });
    const apply = await runStep(failoverDrillActionStep, { action: 'stop-apiserver', phase: 'apply' }, { host });
    expect(apply).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(host.file(manifest)).toBeUndefined();
    expect(host.file(parked)).toBe('kind: Pod\n');
    expect(await host.listDir('/etc/kubernetes/manifests')).toEqual([]);

    const again = await runStep(failoverDrillActionStep, { action: 'stop-apiserver', phase: 'apply' }, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false });

    const restore = await runStep(failoverDrillActionStep, { action: 'stop-apiserver', phase: 'restore' }, { host });
    expect(restore).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(host.file(manifest)).toBe('kind: Pod\n');
    expect(host.file(parked)).toBeUndefined();

    const restoreAgain = await runStep(
      failoverDrillActionStep,
      { action: 'stop-apiserver', phase: 'restore' },
      { host },
    );
    expect(restoreAgain).toMatchObject({ outcome: 'succeeded', changed: false });
  });

  it('GIVEN a node without the apiserver manifest WHEN applied THEN it fails, and restore is a no-op', async () => {
    const host = new FakeHost();
    const apply = await runStep(failoverDrillActionStep, { action: 'stop-apiserver', phase: 'apply' }, { host });
    expect(apply.error?.message).toMatch(/does not exist: not a control plane/);
    const restore = await runStep(failoverDrillActionStep, { action: 'stop-apiserver', phase: 'restore' }, { host });
    expect(restore).toMatchObject({ outcome: 'succeeded', changed: false });
  });
});

describe.each(['haproxy', 'keepalived'])('failover-drill-action stop-%s', (unit) => {
  const action = `stop-${unit}`;

  it('GIVEN the service runs WHEN applied THEN it is stopped with a marker; restored THEN started once', async () => {
    const active = { value: true };
    const host = withService(new FakeHost(), unit, active);
    const apply = await runStep(failoverDrillActionStep, { action, phase: 'apply' }, { host });
    expect(apply).toMatchObject({ outcome: 'succeeded', changed: true, changes: [`systemctl stop ${unit}`] });
    expect(active.value).toBe(false);
    expect(host.file(`/var/lib/kubeha/drill/${unit}.stopped`)).toBeDefined();

    const restore = await runStep(failoverDrillActionStep, { action, phase: 'restore' }, { host });
    expect(restore).toMatchObject({ outcome: 'succeeded', changed: true, changes: [`systemctl start ${unit}`] });
    expect(active.value).toBe(true);
    host.clearRecords();
    const restoreAgain = await runStep(failoverDrillActionStep, { action, phase: 'restore' }, { host });
    expect(restoreAgain).toMatchObject({ outcome: 'succeeded', changed: false });
    expect(host.commandLines()).toEqual([]);
  });

  it('GIVEN the service was already stopped before the drill WHEN applied and restored THEN the drill never starts it', async () => {
    const active = { value: false };
    const host = withService(new FakeHost(), unit, active);
    await runStep(failoverDrillActionStep, { action, phase: 'apply' }, { host });
    const restore = await runStep(failoverDrillActionStep, { action, phase: 'restore' }, { host });
    expect(restore.changed).toBe(false);
    expect(active.value).toBe(false);
    expect(host.commandLines()).toEqual([`systemctl is-active --quiet ${unit}`]);
  });
});
