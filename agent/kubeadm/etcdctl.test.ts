import { describe, expect, it } from 'vitest';
import { memberListJson } from './etcdctl.fixture.ts';
import { parseEndpointHealth, parseEndpointStatus, parseMemberList, parseSnapshotStatus, urlHost } from './etcdctl.ts';

describe('etcdctl JSON', () => {
  it('GIVEN member list -w json with 64-bit ids WHEN parsed THEN the ids are exact hex, learners and unnamed members kept', () => {
    expect(parseMemberList(memberListJson)).toEqual([
      {
        id: '8211f1d0f64f3269',
        name: 'k8s-master1',
        peerUrls: ['https://192.168.1.10:2380'],
        clientUrls: ['https://192.168.1.10:2379'],
        isLearner: false,
      },
      {
        id: '91bc3c398fb3c146',
        name: 'k8s-master2',
        peerUrls: ['https://192.168.1.11:2380'],
        clientUrls: ['https://192.168.1.11:2379'],
        isLearner: false,
      },
      { id: 'fd422379fda50e48', name: '', peerUrls: ['https://192.168.1.12:2380'], clientUrls: [], isLearner: true },
    ]);
  });

  it('GIVEN crictl exec --sync output (the answer, then etcd client log lines from stderr) WHEN parsed THEN the answer', () => {
    const printed = `{"level":"warn","ts":"2026-12-02T05:50:00Z","caller":"clientv3","msg":"retrying of unary invoker failed"}\n${memberListJson}\n{"level":"info","msg":"done"}\n\n`;
    expect(parseMemberList(printed).map((m) => m.id)).toEqual([
      '8211f1d0f64f3269',
      '91bc3c398fb3c146',
      'fd422379fda50e48',
    ]);
    expect(() => parseMemberList('{"level":"warn","msg":"context deadline exceeded"}\n')).toThrow(
      /no etcdctl JSON answer/,
    );
  });

  it('GIVEN endpoint health and status WHEN parsed THEN health per endpoint and the leader per member', () => {
    const health = `[{"endpoint":"https://192.168.1.10:2379","health":true,"took":"9.1ms"},{"endpoint":"https://192.168.1.11:2379","health":false,"took":"5s","error":"context deadline exceeded"}]`;
    expect(parseEndpointHealth(health)).toEqual([
      { endpoint: 'https://192.168.1.10:2379', healthy: true },
      { endpoint: 'https://192.168.1.11:2379', healthy: false, error: 'context deadline exceeded' },
    ]);
    const status = `[{"Endpoint":"https://192.168.1.10:2379","Status":{"header":{"cluster_id":17237436991929493444,"member_id":9372538179322589801,"revision":1200,"raft_term":4},"version":"3.5.15","dbSize":2564096,"leader":9372538179322589801,"raftIndex":1500,"raftTerm":4}}]`;
    expect(parseEndpointStatus(status)).toEqual([
      {
        endpoint: 'https://192.168.1.10:2379',
        memberId: '8211f1d0f64f3269',
        leaderId: '8211f1d0f64f3269',
        isLearner: false,
      },
    ]);
  });

  it('GIVEN peer URLs WHEN the host is taken THEN IPv4 and bracket-less IPv6', () => {
    expect(urlHost('https://192.168.1.11:2380')).toBe('192.168.1.11');
    expect(urlHost('https://[fd00::11]:2380')).toBe('fd00::11');
    expect(urlHost('not a url')).toBe('');
  });
});

describe('etcdutl snapshot status', () => {
  it('GIVEN etcdutl 3.6 JSON with a version WHEN parsed THEN hash, revision, keys and size are read', () => {
    expect(
      parseSnapshotStatus('{"hash":3041513337,"revision":1234,"totalKey":987,"totalSize":20480,"version":"3.6.0"}'),
    ).toEqual({ hash: 3041513337, revision: 1234, totalKeys: 987, totalSize: 20480 });
  });

  it('GIVEN an answer without a count WHEN parsed THEN it names the field', () => {
    expect(() => parseSnapshotStatus('{"hash":1,"revision":2,"totalSize":3}')).toThrow(/"totalKey" is not a count/);
  });
});
