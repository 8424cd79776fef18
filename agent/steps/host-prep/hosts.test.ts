import { describe, expect, it } from 'vitest';
import { runStep } from '../../step-execution/step-runner.ts';
import { cpParams, freshNode, partStep } from './host-prep-node.fixture.ts';
import { hostsPart } from './hosts.ts';

describe('host-prep hosts', () => {
  it('GIVEN /etc/hosts with mode 0640 WHEN the block is written THEN the file keeps its mode, and a second run writes nothing', async () => {
    const { host } = freshNode('rocky-9');
    host.setFile('/etc/hosts', '127.0.0.1 localhost\n', 0o640);
    const first = await runStep(partStep(hostsPart), cpParams, { host });
    expect(first.changes).toEqual(['write the kubeha block of /etc/hosts (3 nodes)']);
    expect(host.writes.map((w) => [w.path, w.mode])).toEqual([['/etc/hosts', 0o640]]);
    expect(host.file('/etc/hosts')).toContain('192.168.1.11 k8s-master2\n');
    host.clearRecords();
    expect(await runStep(partStep(hostsPart), cpParams, { host })).toMatchObject({ changed: false });
    expect(host.writes).toEqual([]);
  });

  it('GIVEN no nodes THEN /etc/hosts is not read or written', async () => {
    const { host } = freshNode('rocky-9');
    const result = await runStep(partStep(hostsPart), { ...cpParams, nodes: [] }, { host });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: false });
    expect(host.writes).toEqual([]);
  });
});
