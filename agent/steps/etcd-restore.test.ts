import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FakeHost } from '../host/fake-host.ts';
import { readyzCurlArgs } from '../kubeadm/apiserver-readyz.fixture.ts';
import { etcdctlCommand } from '../kubeadm/etcdctl.ts';
import { runStep } from '../step-execution/step-runner.ts';
import {
  asideDir,
  createEtcdRestoreMemberStep,
  joiningManifest,
  restoreMarkerDir,
  restoreSnapshotPath,
  stagingDir,
} from './etcd-restore-member.ts';
import { createEtcdRestoreStartStep } from './etcd-restore-start.ts';
import { createEtcdRestoreStopStep, restoreParkedDir } from './etcd-restore-stop.ts';

const fast = { pollMs: 1, now: () => Date.now() };
const container = '3f4e5d6c7b8a';
const manifests = '/etc/kubernetes/manifests';
const parked = restoreParkedDir('r1');
const snapshot = 'bolt pages '.repeat(300);
const sha = createHash('sha256').update(snapshot).digest('hex');
const etcdManifest = `apiVersion: v1
kind: Pod
spec:
  containers:
  - command:
    - etcd
    - --name=cp2
    - --initial-advertise-peer-urls=https://10.0.0.12:2380
    - --initial-cluster=cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380,cp3=https://10.0.0.13:2380
    - --initial-cluster-state=existing
    - --data-dir=/var/lib/etcd
`;

const threeMembers = `{"members":[${[1, 2, 3]
  .map(
    (n) =>
      `{"ID":${n},"name":"cp${n}","peerURLs":["https://10.0.0.1${n}:2380"],"clientURLs":["https://10.0.0.1${n}:2379"]}`,
  )
  .join(',')}]}`;

/** A control plane whose kubelet runs a static pod exactly while its manifest is in the manifests directory. */
function controlPlane(): FakeHost {
  const host = new FakeHost();
  host.setFile(`${manifests}/etcd.yaml`, etcdManifest, 0o600);
  host.setFile(`${manifests}/kube-apiserver.yaml`, 'kind: Pod\n', 0o600);
  host.setFile('/var/lib/etcd/member/snap/db', 'old data', 0o600);
  for (const pod of ['etcd', 'kube-apiserver']) {
    host.stub('crictl', ['ps', '--state', 'Running', '--label', `io.kubernetes.container.name=${pod}`, '-q'], {
      stdout: (h) => (h.file(`${manifests}/${pod}.yaml`) === undefined ? '' : `${container}\n`),
    });
  }
  host.stub('crictl', etcdctlCommand(container, ['endpoint', 'health', '-w', 'json']), {
    stdout: '[{"endpoint":"https://127.0.0.1:2379","health":true,"took":"2ms"}]',
  });
  return host;
}

describe('etcd-restore-stop', () => {
  it('GIVEN a control plane WHEN run THEN the apiserver and etcd manifests are parked and the pods gone; a second run changes nothing', async () => {
    const host = controlPlane();
    const step = createEtcdRestoreStopStep(fast);

    const result = await runStep(step, { restoreId: 'r1' }, { host });

    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes[0]).toMatch(/^stop kube-apiserver and etcd: move kube-apiserver.yaml, etcd.yaml/);
    expect(host.file(`${manifests}/etcd.yaml`)).toBeUndefined();
    expect(host.file(`${parked}/etcd.yaml`)).toBe(etcdManifest);
    expect(host.file(`${parked}/kube-apiserver.yaml`)).toBe('kind: Pod\n');

    const again = await runStep(step, { restoreId: 'r1' }, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
  });

  it('GIVEN refuseWithQuorum and 2 of 3 voting members healthy WHEN run THEN it refuses in words and stops nothing', async () => {
    const host = controlPlane();
    host.stub('crictl', etcdctlCommand(container, ['member', 'list', '--consistency=s', '-w', 'json']), {
      stdout: threeMembers,
    });
    for (const [n, ok] of [
      [1, true],
      [2, true],
      [3, false],
    ] as const) {
      host.stub(
        'crictl',
        etcdctlCommand(container, ['endpoint', 'health', '-w', 'json'], `https://10.0.0.1${n}:2379`),
        {
          exitCode: ok ? 0 : 1,
          stdout: ok ? `[{"endpoint":"https://10.0.0.1${n}:2379","health":true}]` : '',
        },
      );
    }
    const params = { restoreId: 'r1', keepEtcd: true, refuseWithQuorum: true, snapshotTakenAt: '2026-12-03T10:00:00Z' };

    const result = await runStep(createEtcdRestoreStopStep(fast), params, { host });

    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ code: 'KUBEHA_STEP_REFUSED', deterministic: true });
    expect(result.error?.message).toBe(
      'etcd-restore-stop: etcd has quorum: 2 of 3 voting members healthy (cp1, cp2), 2 needed. A restore rolls back every change made to the cluster since the snapshot was taken (2026-12-03T10:00:00Z); nothing was stopped. Restore anyway with --force',
    );
    expect(host.file(`${manifests}/kube-apiserver.yaml`)).toBe('kind: Pod\n');

    host.stub('crictl', etcdctlCommand(container, ['endpoint', 'health', '-w', 'json'], 'https://10.0.0.12:2379'), {
      exitCode: 1,
    });
    const lost = await runStep(createEtcdRestoreStopStep(fast), params, { host });
    expect(lost).toMatchObject({ outcome: 'succeeded', changed: true });
  });

  it('GIVEN keepEtcd WHEN run THEN only the apiserver stops', async () => {
    const host = controlPlane();
    const result = await runStep(createEtcdRestoreStopStep(fast), { restoreId: 'r1', keepEtcd: true }, { host });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(host.file(`${manifests}/etcd.yaml`)).toBe(etcdManifest);
    expect(host.file(`${parked}/kube-apiserver.yaml`)).toBe('kind: Pod\n');
  });

  it('GIVEN a pod the kubelet does not stop WHEN run THEN it fails after the timeout naming it', async () => {
    const host = controlPlane();
    host.stub('crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q'], {
      stdout: `${container}\n`,
    });
    let t = 0;
    const step = createEtcdRestoreStopStep({ pollMs: 1, now: () => (t += 5_000) });
    const result = await runStep(step, { restoreId: 'r1', stopTimeoutSeconds: 10 }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(
      /the kubelet stopping kube-apiserver and etcd: not done after 10 s: etcd still runs/,
    );
  });
});

const restoreParams = {
  restoreId: 'r1',
  role: 'restore',
  memberName: 'cp1',
  memberPeerUrl: 'https://10.0.0.11:2380',
  snapshotId: 'snap-1',
  snapshotSha256: sha,
};

function restoringHost(): FakeHost {
  const host = controlPlane();
  host.setFile(restoreSnapshotPath('snap-1'), snapshot, 0o600);
  host.stub('crictl', etcdctlCommand(container, ['member', 'list', '-w', 'json']), {
    stdout: '{"members":[{"ID":9372538179322589801,"name":"cp1","peerURLs":["https://10.0.0.11:2380"]}]}',
  });
  return host;
}

const etcdutlRestore = [
  'exec',
  '--sync',
  container,
  'etcdutl',
  'snapshot',
  'restore',
  restoreSnapshotPath('snap-1'),
  '--name',
  'cp1',
  '--initial-cluster',
  'cp1=https://10.0.0.11:2380',
  '--initial-cluster-token',
  'kubeha-restore-r1',
  '--initial-advertise-peer-urls',
  'https://10.0.0.11:2380',
  '--data-dir',
  `${stagingDir('r1')}-partial`,
];

describe('etcd-restore-member restore', () => {
  it('GIVEN the snapshot on the node WHEN run THEN etcdutl restores it, the old data is kept aside, etcd runs healthy alone; a second run changes nothing', async () => {
    const host = restoringHost();
    host.expect('crictl', etcdutlRestore, {
      effect: (h) => h.setFile(`${stagingDir('r1')}-partial/member/snap/db`, 'restored', 0o600),
    });
    const step = createEtcdRestoreMemberStep(fast);

    const result = await runStep(step, restoreParams, { host });

    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(host.file('/var/lib/etcd/member/snap/db')).toBe('restored');
    expect(host.file(`${asideDir('r1')}/member/snap/db`)).toBe('old data');
    expect(host.file(`${manifests}/etcd.yaml`)).toBe(etcdManifest);
    expect(host.file(restoreSnapshotPath('snap-1'))).toBeUndefined();
    expect(await host.exists(stagingDir('r1'))).toBe(false);
    expect(await host.exists(`${restoreMarkerDir('r1')}/restored`)).toBe(true);

    host.clearRecords();
    const again = await runStep(step, restoreParams, { host });
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
    expect(host.commandLines()).toEqual([]);
  });

  it('GIVEN a cut-off attempt after the data was swapped WHEN run again THEN it only starts etcd and waits', async () => {
    const host = restoringHost();
    host.expect('crictl', etcdutlRestore, {
      effect: (h) => h.setFile(`${stagingDir('r1')}-partial/member/snap/db`, 'restored', 0o600),
    });
    // The first attempt ends while etcd is stopped: its manifest is parked when the member list is asked for.
    host.stub('crictl', etcdctlCommand(container, ['member', 'list', '-w', 'json']), { exitCode: 1 });
    const first = await runStep(createEtcdRestoreMemberStep(fast), restoreParams, { host });
    expect(first.outcome).toBe('failed');
    expect(host.file('/var/lib/etcd/member/snap/db')).toBe('restored');

    host.stub('crictl', etcdctlCommand(container, ['member', 'list', '-w', 'json']), {
      stdout: '{"members":[{"ID":9372538179322589801,"name":"cp1","peerURLs":["https://10.0.0.11:2380"]}]}',
    });
    const dry = await runStep(createEtcdRestoreMemberStep(fast), restoreParams, { host, dryRun: true });
    expect(dry.changes).toEqual([
      'start etcd with the restored data and wait until it is healthy, the only member of its cluster',
    ]);
    const second = await runStep(createEtcdRestoreMemberStep(fast), restoreParams, { host });
    expect(second).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(host.file(`${asideDir('r1')}/member/snap/db`)).toBe('old data');
  });

  it('GIVEN a snapshot file with another sha256 WHEN run THEN it fails saying so and nothing is stopped', async () => {
    const host = restoringHost();
    host.setFile(restoreSnapshotPath('snap-1'), `${snapshot}x`, 0o600);
    const result = await runStep(createEtcdRestoreMemberStep(fast), restoreParams, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.message).toMatch(
      /kubeha-restore-snap-1.db \(3301 bytes\) has sha256 [0-9a-f]{64}, not [0-9a-f]{64} of snapshot snap-1: not restored/,
    );
    expect(host.file(`${manifests}/etcd.yaml`)).toBe(etcdManifest);
    expect(host.file('/var/lib/etcd/member/snap/db')).toBe('old data');
  });
});

describe('etcd-restore-member add-member and join', () => {
  it('GIVEN the restored member WHEN add-member runs THEN the member is added as a learner once', async () => {
    const host = controlPlane();
    let members = '{"members":[{"ID":1,"name":"cp1","peerURLs":["https://10.0.0.11:2380"]}]}';
    host.stub('crictl', etcdctlCommand(container, ['member', 'list', '-w', 'json']), { stdout: () => members });
    host.expect(
      'crictl',
      etcdctlCommand(container, ['member', 'add', 'cp2', '--peer-urls=https://10.0.0.12:2380', '--learner']),
      {
        effect: () => {
          members =
            '{"members":[{"ID":1,"name":"cp1","peerURLs":["https://10.0.0.11:2380"]},{"ID":2,"peerURLs":["https://10.0.0.12:2380"],"isLearner":true}]}';
        },
      },
    );
    const params = { restoreId: 'r1', role: 'add-member', memberName: 'cp2', memberPeerUrl: 'https://10.0.0.12:2380' };
    const step = createEtcdRestoreMemberStep(fast);
    expect(await runStep(step, params, { host })).toMatchObject({ outcome: 'succeeded', changed: true });
    host.assertNoPendingExpectations();
    expect(await runStep(step, params, { host })).toMatchObject({ outcome: 'succeeded', changed: false });
  });

  it('GIVEN a stopped control plane WHEN join runs THEN its data is moved aside, its manifest joins the restored cluster, it is promoted; a second run changes nothing', async () => {
    const host = controlPlane();
    await runStep(createEtcdRestoreStopStep(fast), { restoreId: 'r1' }, { host });
    const restored = 'https://10.0.0.11:2379';
    let learner = true;
    host.stub('crictl', etcdctlCommand(container, ['member', 'list', '-w', 'json'], restored), {
      stdout: () =>
        `{"members":[{"ID":1,"name":"cp1","peerURLs":["https://10.0.0.11:2380"]},{"ID":2,"name":"cp2","peerURLs":["https://10.0.0.12:2380"],"isLearner":${learner}}]}`,
    });
    host.expect('crictl', etcdctlCommand(container, ['member', 'promote', '2'], restored), {
      effect: () => {
        learner = false;
      },
    });
    host.stub('crictl', etcdctlCommand(container, ['endpoint', 'status', '-w', 'json']), {
      stdout: '[{"Endpoint":"https://127.0.0.1:2379","Status":{"header":{"member_id":2},"leader":1}}]',
    });
    const initialCluster = 'cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380';
    const params = {
      restoreId: 'r1',
      role: 'join',
      memberName: 'cp2',
      memberPeerUrl: 'https://10.0.0.12:2380',
      restoredClientUrl: restored,
      initialCluster,
    };
    const step = createEtcdRestoreMemberStep(fast);

    const result = await runStep(step, params, { host });

    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(host.file(`${asideDir('r1')}/member/snap/db`)).toBe('old data');
    expect(host.file('/var/lib/etcd/member/snap/db')).toBeUndefined();
    expect(host.file(`${manifests}/etcd.yaml`)).toContain(`- --initial-cluster=${initialCluster}\n`);
    expect(host.file(`${manifests}/kube-apiserver.yaml`)).toBeUndefined();
    expect(await runStep(step, params, { host })).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
  });

  it('joiningManifest adds --initial-cluster-state=existing when the manifest of the first control plane has none', () => {
    const first = etcdManifest.replace('    - --initial-cluster-state=existing\n', '');
    expect(joiningManifest(first, 'cp1=https://10.0.0.11:2380')).toContain(
      '    - --initial-cluster=cp1=https://10.0.0.11:2380\n    - --initial-cluster-state=existing\n',
    );
  });
});

describe('etcd-restore-start', () => {
  it('GIVEN a parked apiserver WHEN run THEN it is back and /readyz answers; a second run changes nothing', async () => {
    const host = controlPlane();
    await runStep(createEtcdRestoreStopStep(fast), { restoreId: 'r1', keepEtcd: true }, { host });
    const readyz = readyzCurlArgs('https://10.0.0.11:6443/readyz');
    host.stub('curl', readyz, {
      stdout: (h) => (h.file(`${manifests}/kube-apiserver.yaml`) === undefined ? '\n000' : 'ok\n200'),
      exitCode: (h) => (h.file(`${manifests}/kube-apiserver.yaml`) === undefined ? 7 : 0),
    });
    const params = { restoreId: 'r1', apiserverAddress: '10.0.0.11' };
    const step = createEtcdRestoreStartStep(fast);

    const result = await runStep(step, params, { host });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(host.file(`${manifests}/kube-apiserver.yaml`)).toBe('kind: Pod\n');
    expect(await host.exists(parked)).toBe(false);
    expect(await runStep(step, params, { host })).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
  });
});
