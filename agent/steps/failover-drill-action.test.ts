import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { failoverDrillActionStep } from './failover-drill-action.ts';

const manifest = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const parked = '/etc/kubernetes/kube-apiserver.yaml.kubeha-drill';

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
  const isActive = ['is-active', unit];
  const active = { stdout: 'active\n' };
  const inactive = { stdout: 'inactive\n', exitCode: 3 };

  it('GIVEN the service runs WHEN applied THEN stopped with a marker; restored THEN started once, and only once', async () => {
    const host = new FakeHost();
    host.expect('systemctl', isActive, active); // check: active
    host.expect('systemctl', isActive, active); // apply
    host.expect('systemctl', ['stop', unit]);
    host.expect('systemctl', isActive, inactive); // check again: inactive
    const apply = await runStep(failoverDrillActionStep, { action, phase: 'apply' }, { host });
    host.assertNoPendingExpectations();
    expect(apply).toMatchObject({ outcome: 'succeeded', changed: true, changes: [`systemctl stop ${unit}`] });
    expect(host.writes.map((w) => [w.path, w.mode])).toEqual([[`/var/lib/kubeha/drill/${unit}.stopped`, 0o600]]);

    host.clearRecords();
    host.expect('systemctl', ['start', unit]);
    const restore = await runStep(failoverDrillActionStep, { action, phase: 'restore' }, { host });
    host.assertNoPendingExpectations();
    expect(restore).toMatchObject({ outcome: 'succeeded', changed: true, changes: [`systemctl start ${unit}`] });
    expect(host.file(`/var/lib/kubeha/drill/${unit}.stopped`)).toBeUndefined();

    host.clearRecords();
    const restoreAgain = await runStep(failoverDrillActionStep, { action, phase: 'restore' }, { host });
    expect(restoreAgain).toMatchObject({ outcome: 'succeeded', changed: false });
    expect(host.commandLines()).toEqual([]);
  });

  it('GIVEN the service was stopped before the drill WHEN applied and restored THEN the drill never starts it', async () => {
    const host = new FakeHost();
    host.expect('systemctl', isActive, inactive);
    const apply = await runStep(failoverDrillActionStep, { action, phase: 'apply' }, { host });
    const restore = await runStep(failoverDrillActionStep, { action, phase: 'restore' }, { host });
    host.assertNoPendingExpectations();
    expect(apply.changed).toBe(false);
    expect(restore.changed).toBe(false);
    expect(host.commandLines()).toEqual([`systemctl is-active ${unit}`]);
  });
});
