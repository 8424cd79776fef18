import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { memberListJson } from '../kubeadm/etcdctl.fixture.ts';
import { etcdctlCommand, etcdctlTls } from '../kubeadm/etcdctl.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { removeEtcdMemberStep } from './remove-etcd-member.ts';

const container = '3f4e5d6c7b8a';
const tls = etcdctlTls;
const etcdctl = (...args: string[]) => ['exec', '--sync', container, 'etcdctl', ...tls, ...args];
const localStatus = `[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"member_id":9372538179322589801},"leader":9372538179322589801}}]`;
const withoutMaster2 = memberListJson.replace(/\{"ID":10501334649042878790[^}]*\},/, '');

function etcdHost(): FakeHost {
  const host = new FakeHost();
  host.stub('crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'], {
    stdout: `${container}\n`,
  });
  host.stub('crictl', etcdctl('endpoint', 'status', '-w', 'json'), { stdout: localStatus });
  for (const n of ['10', '11']) stubHealthy(host, n);
  return host;
}

const healthArgs = (n: string) =>
  etcdctlCommand(container, ['endpoint', 'health', '-w', 'json'], `https://192.168.1.${n}:2379`);

function stubHealthy(host: FakeHost, n: string): void {
  host.stub('crictl', healthArgs(n), {
    stdout: JSON.stringify([{ endpoint: `https://192.168.1.${n}:2379`, health: true, took: '9ms' }]),
  });
}

/** As the real crictl answers when etcdctl exits non-zero: etcdctl's answer is gone, only its stderr is quoted. */
function stubDead(host: FakeHost, n: string): void {
  const url = `https://192.168.1.${n}:2379`;
  host.stub('crictl', healthArgs(n), {
    exitCode: 1,
    stderr:
      `time="2026-12-03T06:00:00Z" level=fatal msg="execing command in container ${container} synchronously: ` +
      `command 'etcdctl --endpoints ${url} endpoint health -w json' exited with 1: ` +
      `{"level":"warn","msg":"retrying of unary invoker failed"}\n${url} is unhealthy: failed to commit proposal: context deadline exceeded\nError: unhealthy cluster\n"`,
  });
}

describe('remove-etcd-member', () => {
  it('GIVEN the failed member is listed WHEN run THEN etcdctl member remove with its hex id; a second run is a no-op', async () => {
    const host = etcdHost();
    host.expect('crictl', etcdctl('member', 'list', '-w', 'json'), { stdout: memberListJson });
    host.expect('crictl', etcdctl('member', 'list', '-w', 'json'), { stdout: memberListJson });
    host.expect('crictl', etcdctl('member', 'remove', '91bc3c398fb3c146'), {
      stdout: 'Member 91bc3c398fb3c146 removed from cluster f137bfd7a1a0e1c4\n',
    });
    host.stub('crictl', etcdctl('member', 'list', '-w', 'json'), { stdout: withoutMaster2 });
    const result = await runStep(removeEtcdMemberStep, { memberName: 'k8s-master2', memberPeerUrl: '' }, { host });
    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes).toEqual(['etcdctl member remove 91bc3c398fb3c146 (k8s-master2, https://192.168.1.11:2380)']);
    const again = await runStep(removeEtcdMemberStep, { memberName: 'k8s-master2' }, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false });
  });

  it('GIVEN an unstarted learner without a name WHEN removed by peer address THEN it is found', async () => {
    const host = etcdHost();
    host.stub('crictl', etcdctl('member', 'list', '-w', 'json'), { stdout: memberListJson });
    const result = await runStep(
      removeEtcdMemberStep,
      { memberName: 'k8s-master3', memberPeerUrl: 'https://192.168.1.12:2380' },
      { host, dryRun: true },
    );
    expect(result.changes).toEqual([
      'etcdctl member remove fd422379fda50e48 (unstarted, https://192.168.1.12:2380, learner)',
    ]);
  });

  it('GIVEN the member of this very node WHEN asked to remove it THEN it refuses', async () => {
    const host = etcdHost();
    host.stub('crictl', etcdctl('member', 'list', '-w', 'json'), { stdout: memberListJson });
    const result = await runStep(removeEtcdMemberStep, { memberName: 'k8s-master1' }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(/refusing to remove the etcd member of the control plane this step runs on/);
  });

  it('GIVEN three voting members with the third dead WHEN its member is removed by peer URL THEN it goes', async () => {
    const host = etcdHost();
    const threeVoters = memberListJson.replace(
      /\{"ID":18249187646912138824[^}]*\}/,
      '{"ID":18249187646912138824,"name":"k8s-master3","peerURLs":["https://192.168.1.12:2380"],"clientURLs":["https://192.168.1.12:2379"]}',
    );
    host.stub('crictl', etcdctl('member', 'list', '-w', 'json'), { stdout: threeVoters });
    stubDead(host, '12');
    const dead = await runStep(
      removeEtcdMemberStep,
      { memberPeerUrl: 'https://192.168.1.12:2380' },
      { host, dryRun: true },
    );
    expect(dead.changes).toEqual(['etcdctl member remove fd422379fda50e48 (k8s-master3, https://192.168.1.12:2380)']);

    // AND removing a healthy one instead would leave one healthy member of two: refused with the numbers
    const healthy = await runStep(removeEtcdMemberStep, { memberName: 'k8s-master2' }, { host });
    expect(healthy).toMatchObject({ outcome: 'failed', changed: false });
    expect(healthy.error).toMatchObject({
      code: 'KUBEHA_STEP_REFUSED',
      message:
        'remove-etcd-member: refusing: removing k8s-master2 leaves 1 of 2 etcd members healthy; etcd needs 2 for quorum',
    });
  });

  it('GIVEN two of three voting members dead WHEN one of them is removed THEN refused: no quorum, with the numbers', async () => {
    const host = new FakeHost();
    host.stub('crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'], {
      stdout: `${container}\n`,
    });
    host.stub('crictl', etcdctl('endpoint', 'status', '-w', 'json'), { stdout: localStatus });
    host.stub('crictl', etcdctl('member', 'list', '-w', 'json'), {
      stdout: memberListJson.replace(
        /\{"ID":18249187646912138824[^}]*\}/,
        '{"ID":18249187646912138824,"name":"k8s-master3","peerURLs":["https://192.168.1.12:2380"],"clientURLs":["https://192.168.1.12:2379"]}',
      ),
    });
    stubHealthy(host, '10');
    stubDead(host, '11');
    stubDead(host, '12');
    const result = await runStep(removeEtcdMemberStep, { memberPeerUrl: 'https://192.168.1.12:2380' }, { host });
    expect(result.error).toMatchObject({
      code: 'KUBEHA_STEP_REFUSED',
      message:
        'remove-etcd-member: refusing: etcd has no quorum now: 1 of 3 voting members healthy (k8s-master1), 2 needed; a member can only be removed with quorum',
    });
  });

  it('GIVEN no running etcd container WHEN run THEN it says so', async () => {
    const host = new FakeHost();
    host.stub('crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'], {});
    const result = await runStep(removeEtcdMemberStep, { memberName: 'k8s-master2' }, { host });
    expect(result.error?.message).toMatch(/no running etcd container/);
  });

  it('GIVEN neither name nor address WHEN parsed THEN invalid', async () => {
    const result = await runStep(removeEtcdMemberStep, { memberName: '', memberPeerUrl: '' }, { host: new FakeHost() });
    expect(result.error?.code).toBe('KUBEHA_PARAMS_INVALID');
  });

  it('GIVEN a peer URL as kubeadm registers it WHEN parsed THEN accepted; a bare IP or another scheme THEN refused naming the field', () => {
    expect(removeEtcdMemberStep.parseParams({ memberPeerUrl: 'https://192.168.1.11:2380' })).toEqual({
      memberPeerUrl: 'https://192.168.1.11:2380',
    });
    expect(removeEtcdMemberStep.parseParams({ memberPeerUrl: 'https://[fd00::11]:2380' })).toEqual({
      memberPeerUrl: 'https://[fd00::11]:2380',
    });
    for (const bad of [
      '192.168.1.11',
      'http://192.168.1.11:2380',
      'https://999.1.1.1:2380',
      'https://[fd00::11]:99999',
    ])
      expect(() => removeEtcdMemberStep.parseParams({ memberPeerUrl: bad }), bad).toThrow(
        /remove-etcd-member\.memberPeerUrl/,
      );
  });

  it('GIVEN an IPv6 member spelled differently WHEN removed by peer URL THEN it is found', async () => {
    const host = etcdHost();
    const v6 = memberListJson.replace('https://192.168.1.12:2380', 'https://[fd00::12]:2380');
    host.stub('crictl', etcdctl('member', 'list', '-w', 'json'), { stdout: v6 });
    const result = await runStep(
      removeEtcdMemberStep,
      { memberPeerUrl: 'https://[FD00:0::12]:2380' },
      { host, dryRun: true },
    );
    expect(result.changes).toEqual([
      'etcdctl member remove fd422379fda50e48 (unstarted, https://[fd00::12]:2380, learner)',
    ]);
  });
});
