// etcd quorum lost and restored from a snapshot through the real CLI: ConfigMap A made, a snapshot taken, ConfigMap B
// made; a restore asked for while etcd has quorum is refused; then etcd killed on two control planes and their data
// wiped (the member directory replaced by a file, so that the kubelet's restarts crash instead of rejoining): quorum
// is lost and the apiservers fail. `kubeha etcd restore` with the coordinator SIGKILLed in the middle of the run
// finishes after the restart: 3 voting members, A present, B absent, verify green. It reports the restore's wall time
// and the longest /readyz gap through the VIP (from the loss of quorum to the apiservers' restart).
import { expect } from 'vitest';
import { parseMemberList } from '../../../agent/kubeadm/etcdctl.ts';
import type { LabNode } from '../lab-node.ts';
import type { Day2Lab, Day2Scenario } from './day2-scenario.ts';

interface RunJson {
  state?: string;
  steps?: { id?: string; state: string }[];
}

const podStateDir = '/run/kubelet-stand-in/pods';

/** The host pid of the node's etcd process, as its stand-in kubelet recorded it (one JSON file per pod). */
async function etcdPid(node: LabNode): Promise<number | undefined> {
  const r = await node.run('sh', ['-c', `for f in ${podStateDir}/*.json; do cat "$f"; echo; done`]);
  for (const line of r.stdout.split('\n').filter((l) => l.trim().startsWith('{'))) {
    const pod = JSON.parse(line) as { containerName?: string; pid?: number };
    if (pod.containerName === 'etcd' && pod.pid) return pod.pid;
  }
  return undefined;
}

async function killEtcdAndWipe(node: LabNode): Promise<void> {
  const wiped = await node.run('sh', ['-c', 'rm -rf /var/lib/etcd/member && touch /var/lib/etcd/member']);
  if (wiped.code !== 0) throw new Error(`wiping etcd's data on ${node.name}: ${wiped.stderr.trim()}`);
  const pid = await etcdPid(node);
  if (pid === undefined) throw new Error(`no etcd process recorded on ${node.name}`);
  process.kill(pid, 'SIGKILL');
}

async function startedRun(lab: Day2Lab, args: string[], lines: string[] = []): Promise<{ ok: boolean; runId: string }> {
  let runId = '';
  const ok = await lab.cli(args, (line) => {
    lines.push(line);
    runId = /run (\S+) (?:of \S+ )?started/.exec(line)?.[1] ?? runId;
  });
  return { ok, runId };
}

async function configMap(lab: Day2Lab, name: string): Promise<boolean> {
  return (await lab.kubectl(['get', 'configmap', name, '-n', 'default', '-o', 'name'])).code === 0;
}

export const etcdRestore: Day2Scenario = {
  name: 'etcd-restore',
  summary:
    'ConfigMap A, snapshot, ConfigMap B; refused with quorum; etcd killed and wiped on two control planes; kubeha etcd restore (coordinator SIGKILLed mid-run): 3 voting members, A present, B absent, verify green',
  async run(lab) {
    const [first, ...others] = lab.controlPlanes;
    if (!first || others.length < 2) throw new Error('the etcd-restore scenario needs three control planes');
    const made = await lab.kubectl(['create', 'configmap', 'kubeha-restore-a', '-n', 'default', '--from-literal=k=a']);
    if (made.code !== 0) throw new Error(`kubectl create configmap kubeha-restore-a: ${made.stderr.trim()}`);
    if (!(await lab.cli(['etcd', 'snapshot', lab.clusterName]))) throw new Error('kubeha etcd snapshot failed');
    const { snapshots } = (await lab.api('GET', `/v1/clusters/${lab.clusterName}/etcd-snapshots`)) as {
      snapshots: { id: string }[];
    };
    const snapshot = snapshots[0]?.id;
    if (!snapshot) throw new Error('no snapshot listed');
    const madeB = await lab.kubectl(['create', 'configmap', 'kubeha-restore-b', '-n', 'default', '--from-literal=k=b']);
    if (madeB.code !== 0) throw new Error(`kubectl create configmap kubeha-restore-b: ${madeB.stderr.trim()}`);

    // With quorum, the restore is refused by its first step, which changes nothing.
    const refusalLines: string[] = [];
    const refused = await startedRun(
      lab,
      ['etcd', 'restore', lab.clusterName, '--snapshot', snapshot, '--yes'],
      refusalLines,
    );
    const refusedRun = (await lab.api('GET', `/v1/runs/${refused.runId}`)) as RunJson;
    const bStillThere = await configMap(lab, 'kubeha-restore-b');

    // A client on a worker probing /readyz through the VIP, from the loss of quorum to the end of the restore.
    const watch = lab.watchEndpoint();
    await new Promise((r) => setTimeout(r, 1000));
    for (const node of others.slice(0, 2)) await killEtcdAndWipe(node);
    let apiserverDown = false;
    await lab.until('the apiservers to fail without etcd quorum', 120, async () => {
      const r = await lab.kubectl(['get', '--raw', '/readyz', '--request-timeout=5s']);
      apiserverDown = r.code !== 0;
      return apiserverDown;
    });

    const started = Date.now();
    const restore = await startedRun(lab, [
      'etcd',
      'restore',
      lab.clusterName,
      '--snapshot',
      snapshot,
      '--yes',
      '--no-watch',
    ]);
    if (!restore.ok || !restore.runId) throw new Error('kubeha etcd restore: no run started');
    // Killed once a member joins the restored one, so that the restarted coordinator resumes a half-restored etcd.
    await lab.until('the restore to reach a join', 900, async () =>
      (((await lab.api('GET', `/v1/runs/${restore.runId}`)) as RunJson).steps ?? []).some(
        (s) => /^etcd-restore-(add|join)\//.test(s.id ?? '') && s.state !== 'pending',
      ),
    );
    const atKill = (await lab.api('GET', `/v1/runs/${restore.runId}`)) as RunJson;
    lab.log('in the middle of the restore:');
    await lab.restartCoordinator();
    const restoredOk = await lab.cli(['watch', restore.runId]);
    const restoreS = (Date.now() - started) / 1000;
    const endpoint = watch.stop();
    const run = (await lab.api('GET', `/v1/runs/${restore.runId}`)) as RunJson;

    const members = await lab.etcdctl(['member', 'list', '-w', 'json'], first);
    const list = members.code === 0 ? parseMemberList(members.stdout) : [];
    const verifyOk = await lab.cli(['verify', lab.clusterName]);
    const aside = await first.run('ls', ['-A', '/var/lib/etcd']);
    return {
      snapshot,
      refused_ok: refused.ok,
      refused_run_state: refusedRun.state,
      refusal_says_quorum: refusalLines.some((l) => /etcd has quorum: 3 of 3 voting members healthy/.test(l)),
      b_present_after_refusal: bStillThere,
      apiserver_down_before_restore: apiserverDown,
      restore_run: restore.runId,
      restore_ok: restoredOk,
      restore_run_state: run.state,
      restore_wall_s: Math.round(restoreS * 10) / 10,
      readyz_longest_gap_s: endpoint.longestGapS,
      readyz_probes: endpoint.probes,
      readyz_recovered: endpoint.recovered,
      run_state_at_kill: atKill.state,
      steps_succeeded_at_kill: (atKill.steps ?? []).filter((s) => s.state === 'succeeded').length,
      steps: (run.steps ?? []).length,
      etcd_voting_members: list.filter((m) => !m.isLearner).map((m) => m.name),
      etcd_learners: list.filter((m) => m.isLearner).length,
      configmap_a_present: await configMap(lab, 'kubeha-restore-a'),
      configmap_b_present: await configMap(lab, 'kubeha-restore-b'),
      verify_ok: verifyOk,
      first_etcd_dir: aside.stdout.split('\n').filter(Boolean),
    };
  },
  check(result) {
    expect(result['refused_ok']).toBe(false);
    expect(result['refused_run_state']).toBe('failed');
    expect(result['refusal_says_quorum']).toBe(true);
    expect(result['b_present_after_refusal']).toBe(true);
    expect(result['apiserver_down_before_restore']).toBe(true);
    expect(result['restore_ok']).toBe(true);
    expect(result['restore_run_state']).toBe('succeeded');
    expect(result['restore_wall_s']).toBeGreaterThan(0);
    // The coordinator was killed while the restore was half done.
    expect(result['run_state_at_kill']).toBe('running');
    expect(result['steps_succeeded_at_kill']).toBeGreaterThanOrEqual(4);
    expect(result['steps_succeeded_at_kill']).toBeLessThan(result['steps'] as number);
    expect(result['etcd_voting_members']).toHaveLength(3);
    expect(result['etcd_learners']).toBe(0);
    expect(result['configmap_a_present']).toBe(true);
    expect(result['configmap_b_present']).toBe(false);
    expect(result['verify_ok']).toBe(true);
    // /readyz through the VIP was down from the loss of quorum until the restore had restarted the apiservers.
    expect(result['readyz_longest_gap_s']).toBeGreaterThan(0);
    expect(result['readyz_recovered']).toBe(true);
  },
};
