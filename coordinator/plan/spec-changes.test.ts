import { describe, expect, it } from 'vitest';
import { testSpec } from '../../test/support/test-spec.ts';
import { specDifferences, unsupportedChanges } from './spec-changes.ts';

function spec(patch: {
  nodes?: { name: string; address: string; role: string }[];
  version?: string;
  workers?: number;
}) {
  return testSpec(
    {
      kubernetesVersion: patch.version ?? '1.34.4',
      concurrency: { workers: patch.workers ?? 10 },
      ...(patch.nodes ? { nodes: patch.nodes } : {}),
    },
    'c',
  );
}

describe('unsupportedChanges', () => {
  it('GIVEN the applied spec again THEN nothing is refused', () => {
    expect(unsupportedChanges(spec({}), spec({}), ['cp1', 'w1'])).toEqual([]);
  });

  it('GIVEN a setting the planner applies again (worker concurrency) THEN it is allowed and listed as a difference', () => {
    expect(unsupportedChanges(spec({}), spec({ workers: 3 }), ['cp1', 'w1'])).toEqual([]);
    expect(specDifferences(spec({}), spec({ workers: 3 }))).toEqual([
      { path: 'spec.concurrency.workers', applied: 10, desired: 3 },
    ]);
  });

  it('GIVEN nodes added and removed, one moved, and a new Kubernetes version THEN the move and the version are refused', () => {
    const moved = spec({
      version: '1.35.1',
      nodes: [
        { name: 'cp1', address: '10.0.0.12', role: 'control-plane' },
        { name: 'w2', address: '10.0.0.22', role: 'worker' },
      ],
    });
    const problems = unsupportedChanges(spec({}), moved, ['cp1', 'w1']);
    expect(problems).toEqual([
      'spec.nodes[cp1].address: 10.0.0.11 -> 10.0.0.12 cannot change on a deployed node (to replace the machine: kubeha apply --dead-node cp1 when it is gone, or kubeha node remove first)',
      'spec.kubernetesVersion: "1.34.4" -> "1.35.1" cannot change on a deployed cluster',
    ]);
  });

  it('GIVEN no applied spec yet (a failed first deploy) THEN only members missing from the spec are refused', () => {
    const onlyCp = spec({ nodes: [{ name: 'cp1', address: '10.0.0.11', role: 'control-plane' }] });
    expect(unsupportedChanges(null, spec({}), ['cp1'])).toEqual([]);
    expect(unsupportedChanges(null, onlyCp, ['cp1', 'w1'])).toHaveLength(1);
  });
});
