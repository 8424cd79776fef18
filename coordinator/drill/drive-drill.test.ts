import { describe, expect, it } from 'vitest';
import { notStartedStep, type StepRecord, type StepState } from '../store/store.ts';
import { applyNotRestored } from './drive-drill.ts';

let seq = 0;
function action(id: string, node: string, state: StepState, attempt = state === 'pending' ? 0 : 1): StepRecord {
  const [, action, phase] = id.split('/');
  return {
    runId: 'run-1',
    id,
    seq: seq++,
    kind: 'failover-drill-action',
    node,
    dependsOn: [],
    timeoutSeconds: 300,
    retry: { maxAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 },
    params: { action, phase: phase!.replace(/-\d+$/, '') },
    concurrencyGroup: null,
    bestEffort: true,
    forNode: node,
    ...notStartedStep(),
    state,
    attempt,
  };
}

describe('applyNotRestored: what a drill interrupted by a coordinator restart must put back', () => {
  it('GIVEN an applied action without a successful restore THEN it is restored on the node it ran on; a failed apply too', () => {
    expect(
      applyNotRestored([
        action('failover-drill/stop-apiserver/apply', 'cp2', 'succeeded'),
        action('failover-drill/stop-apiserver/restore', 'cp2', 'succeeded'),
        action('failover-drill/stop-haproxy/apply', 'cp2', 'failed'),
        action('failover-drill/stop-haproxy/restore', 'cp2', 'failed'),
        action('failover-drill/stop-keepalived/apply', 'cp1', 'succeeded'),
      ]),
    ).toEqual([
      { action: 'stop-haproxy', node: 'cp2' },
      { action: 'stop-keepalived', node: 'cp1' },
    ]);
  });

  it('GIVEN an apply that never left, or a second apply after a restore THEN only what may have run is restored', () => {
    expect(applyNotRestored([action('failover-drill/stop-apiserver/apply', 'cp2', 'pending')])).toEqual([]);
    expect(
      applyNotRestored([
        action('failover-drill/stop-apiserver/apply', 'cp2', 'succeeded'),
        action('failover-drill/stop-apiserver/restore', 'cp2', 'succeeded'),
        action('failover-drill/stop-apiserver/apply-2', 'cp3', 'succeeded'),
      ]),
    ).toEqual([{ action: 'stop-apiserver', node: 'cp3' }]);
  });
});
