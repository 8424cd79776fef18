import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { deleteNodeStep } from './delete-node.ts';

const admin = ['--kubeconfig', '/etc/kubernetes/admin.conf'];
const getNode = [...admin, 'get', 'node', 'w3', '--ignore-not-found', '-o', 'json'];
const deleteNode = [...admin, 'delete', 'node', 'w3', '--ignore-not-found'];
const nodeJson = JSON.stringify({ kind: 'Node', metadata: { name: 'w3' }, spec: { unschedulable: true } });

describe('delete-node', () => {
  it('GIVEN the Node exists WHEN run THEN kubectl delete node; a second run finds it gone and changes nothing', async () => {
    const host = new FakeHost();
    let exists = true;
    host.stub('kubectl', getNode, { stdout: () => (exists ? nodeJson : '') });
    host.expect('kubectl', deleteNode, {
      stdout: 'node "w3" deleted\n',
      effect: () => {
        exists = false;
      },
    });

    const result = await runStep(deleteNodeStep, { nodeName: 'w3' }, { host });

    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true, changes: ['kubectl delete node w3'] });
    const again = await runStep(deleteNodeStep, { nodeName: 'w3' }, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
  });

  it('GIVEN the Node is already gone WHEN run THEN nothing is deleted', async () => {
    const host = new FakeHost();
    host.stub('kubectl', getNode, { stdout: '' });
    const result = await runStep(deleteNodeStep, { nodeName: 'w3' }, { host });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: false });
    host.assertNoPendingExpectations();
  });

  it('GIVEN the apiserver refuses the delete WHEN run THEN the failure carries the command line, exit code and stderr tail', async () => {
    const host = new FakeHost();
    host.stub('kubectl', getNode, { stdout: nodeJson });
    host.expect('kubectl', deleteNode, {
      exitCode: 1,
      stderr: 'Error from server (Forbidden): nodes "w3" is forbidden: User "kubernetes-admin" cannot delete\n',
    });
    const result = await runStep(deleteNodeStep, { nodeName: 'w3' }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({
      command: 'kubectl --kubeconfig /etc/kubernetes/admin.conf delete node w3 --ignore-not-found',
      exitCode: 1,
      stderrTail: expect.stringContaining('Forbidden'),
    });
  });

  it('GIVEN a name that is not a node name WHEN parsed THEN refused naming the field', async () => {
    const result = await runStep(deleteNodeStep, { nodeName: 'W3;rm' }, { host: new FakeHost() });
    expect(result.error?.code).toBe('KUBEHA_PARAMS_INVALID');
    expect(result.error?.message).toMatch(/delete-node\.nodeName/);
    expect(() => deleteNodeStep.parseParams({ nodeName: 'w3', force: true })).toThrow(/delete-node/);
  });
});
