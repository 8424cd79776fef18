import { describe, expect, it } from 'vitest';
import { runStep } from '../../step-execution/step-runner.ts';
import { cpParams, freshNode, partStep } from './host-prep-node.fixture.ts';
import { hostnamePart } from './hostname.ts';

describe('host-prep hostname', () => {
  it('GIVEN /etc/hostname already right but the running name not WHEN run THEN hostnamectl sets it, once', async () => {
    const { host } = freshNode('rocky-9');
    host.setFile('/etc/hostname', 'k8s-master1\n');
    const first = await runStep(partStep(hostnamePart), cpParams, { host });
    expect(first).toMatchObject({
      outcome: 'succeeded',
      changes: ['set the hostname to k8s-master1 (hostnamectl set-hostname)'],
    });
    expect(host.commandLines()).toEqual(['hostnamectl set-hostname k8s-master1']);
    host.clearRecords();
    expect(await runStep(partStep(hostnamePart), cpParams, { host })).toMatchObject({ changed: false });
    expect(host.commandLines()).toEqual([]);
  });
});
