import { describe, expect, it } from 'vitest';
import { etcdRestore } from './etcd-restore.ts';

// What a real lab run of the scenario measured (npm run lab -- --skip-drill --day2 etcd-restore).
const measured = {
  refused_ok: false,
  refused_run_state: 'failed',
  refusal_says_quorum: true,
  b_present_after_refusal: true,
  apiserver_down_before_restore: true,
  restore_ok: true,
  restore_run_state: 'succeeded',
  restore_wall_s: 109.3,
  run_state_at_kill: 'running',
  steps_succeeded_at_kill: 5,
  steps: 12,
  etcd_voting_members: ['cp2', 'cp3', 'cp1'],
  etcd_learners: 0,
  configmap_a_present: true,
  configmap_b_present: false,
  verify_ok: true,
};

describe('the etcd-restore scenario check', () => {
  it('GIVEN a lab run that restored etcd THEN it passes', () => {
    expect(() => etcdRestore.check(measured)).not.toThrow();
  });

  it.each([
    ['ConfigMap B came back (nothing was rolled back)', { configmap_b_present: true }],
    ['a member stayed a learner', { etcd_voting_members: ['cp1', 'cp2'], etcd_learners: 1 }],
    ['the coordinator was killed after the run ended', { run_state_at_kill: 'succeeded', steps_succeeded_at_kill: 12 }],
    ['the restore was not refused while etcd had quorum', { refused_ok: true, refused_run_state: 'succeeded' }],
  ])('GIVEN %s THEN it fails', (_what, changed) => {
    expect(() => etcdRestore.check({ ...measured, ...changed })).toThrow();
  });
});
