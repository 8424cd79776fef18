// The day-2 scenarios the lab knows, in the order they run on one deployed cluster (`--day2 all`).
import { certsRenew } from './certs-renew.ts';
import { coordinatorCrash } from './coordinator-crash.ts';
import type { Day2Scenario } from './day2-scenario.ts';
import { etcdRestore } from './etcd-restore.ts';
import { etcdSnapshot } from './etcd-snapshot.ts';
import { etcdSnapshotSchedule } from './etcd-snapshot-schedule.ts';
import { nodeReplace } from './node-replace.ts';
import { nodeWorker } from './node-worker.ts';

export const day2Scenarios: Day2Scenario[] = [
  coordinatorCrash,
  nodeWorker,
  nodeReplace,
  certsRenew,
  etcdSnapshot,
  etcdSnapshotSchedule,
  etcdRestore,
];

/** The scenarios named (or all, for "all"), in registry order; unknown names are an error that lists the known ones. */
export function selectDay2Scenarios(names: string[]): Day2Scenario[] {
  if (names.includes('all')) return [...day2Scenarios];
  const unknown = names.filter((n) => !day2Scenarios.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown day-2 scenario(s) ${unknown.join(', ')}; known: ${day2Scenarios.map((s) => s.name).join(', ') || 'none'}`,
    );
  }
  return day2Scenarios.filter((s) => names.includes(s.name));
}
