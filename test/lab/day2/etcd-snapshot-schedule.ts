// The coordinator's own etcd snapshots: spec.etcd.snapshots {every: 1m, keep: 2} on the running lab cluster, then
// three scheduled snapshot runs, each started by the coordinator a minute or more after the last, and the list pruned
// to the newest two. The schedule is taken off again at the end, so later scenarios run undisturbed.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Day2Scenario } from './day2-scenario.ts';

interface RunJson {
  id: string;
  kind: string;
  state: string;
  createdAt: string;
}

const scheduledRuns = 3;

export const etcdSnapshotSchedule: Day2Scenario = {
  name: 'etcd-snapshot-schedule',
  summary: 'spec.etcd.snapshots every 1m, keep 2: three snapshot runs started by the coordinator, the list pruned to 2',
  async run(lab) {
    const document = parseYaml(readFileSync(lab.admin.hostPath(lab.writeSpec()), 'utf8')) as {
      spec: Record<string, unknown>;
    };
    const cluster = `/v1/clusters/${lab.clusterName}`;
    const since = Date.now();
    await lab.api('PUT', cluster, {
      ...document,
      spec: { ...document.spec, etcd: { snapshots: { every: '1m', keep: 2 } } },
    });
    const scheduled = async () => {
      const { runs } = (await lab.api('GET', `/v1/runs?cluster=${lab.clusterName}`)) as { runs: RunJson[] };
      return runs.filter((r) => r.kind === 'etcd-snapshot' && Date.parse(r.createdAt) >= since);
    };
    let runs: RunJson[] = [];
    try {
      await lab.until(`${scheduledRuns} scheduled snapshot runs to end`, 6 * 60, async () => {
        runs = await scheduled();
        return runs.filter((r) => r.state !== 'running').length >= scheduledRuns;
      });
    } finally {
      await lab.api('PUT', cluster, document);
    }
    const ended = runs.filter((r) => r.state !== 'running').slice(0, scheduledRuns);
    const starts = ended.map((r) => Date.parse(r.createdAt));
    const { snapshots } = (await lab.api('GET', `${cluster}/etcd-snapshots`)) as { snapshots: { runId: string }[] };
    return {
      run_states: ended.map((r) => r.state),
      seconds_between_runs: starts.slice(1).map((t, i) => Math.round((t - starts[i]!) / 1000)),
      snapshots_kept: snapshots.length,
      kept_from_last_runs: snapshots.map((s) => s.runId).sort(),
      last_run_ids: ended
        .slice(-2)
        .map((r) => r.id)
        .sort(),
    };
  },
  check(result) {
    expect(result['run_states']).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // A minute apart, as the coordinator looks once a minute (a look may come a few seconds early).
    for (const seconds of result['seconds_between_runs'] as number[]) expect(seconds).toBeGreaterThanOrEqual(55);
    expect(result['snapshots_kept']).toBe(2);
    expect(result['kept_from_last_runs']).toEqual(result['last_run_ids']);
  },
};
