import { describe, expect, it } from 'vitest';
import { type ClusterValue, notStartedStep, type StepRecord } from '../store/store.ts';
import { paramsForDispatch, valueChangesAfterSuccess, valueNames } from './cluster-values.ts';
import { trustedOutputs } from './trusted-outputs.ts';

const firstHash = 'a'.repeat(64);
const otherHash = 'b'.repeat(64);

function cniStep(params: Record<string, unknown> = {}): StepRecord {
  return {
    runId: 'run-1',
    id: 'cni/cp1',
    seq: 5,
    kind: 'cni',
    node: 'cp1',
    dependsOn: [],
    timeoutSeconds: 600,
    retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 1 },
    params: { plugin: 'flannel', manifestUrl: '', manifestSha256: '', podSubnet: '10.244.0.0/16', ...params },
    concurrencyGroup: null,
    bestEffort: false,
    forNode: null,
    ...notStartedStep(),
  };
}

/** The cluster's values after the given step succeeded with these outputs. */
function valuesAfter(step: StepRecord, outputs: Record<string, string>, values = new Map<string, ClusterValue>()) {
  const changes = valueChangesAfterSuccess(step, { outputs, changed: true }, values, 1);
  for (const [name, value] of changes.set) values.set(name, value);
  return values;
}

describe('the CNI manifest pinned on first use', () => {
  it('GIVEN a spec with no pin WHEN the first cni step succeeds THEN later cni steps are sent the hash it reported', () => {
    const values = valuesAfter(cniStep(), { manifestSha256: firstHash });
    expect(values.get(valueNames.cniManifestPin)?.secret).toBe(false);
    expect(paramsForDispatch(cniStep(), values)).toEqual({
      params: expect.objectContaining({ manifestSha256: firstHash }),
    });
  });

  it('GIVEN a pin WHEN a later download reports another hash THEN the pin stays the first one', () => {
    const values = valuesAfter(cniStep(), { manifestSha256: firstHash });
    valuesAfter(cniStep(), { manifestSha256: otherHash }, values);
    expect(JSON.parse(values.get(valueNames.cniManifestPin)!.value).sha256).toBe(firstHash);
  });

  it('GIVEN the spec pins a hash THEN nothing is stored and the spec’s hash is sent', () => {
    const values = valuesAfter(cniStep({ manifestSha256: otherHash }), { manifestSha256: otherHash });
    expect(values.has(valueNames.cniManifestPin)).toBe(false);
    const pinned = valuesAfter(cniStep(), { manifestSha256: firstHash });
    expect(paramsForDispatch(cniStep({ manifestSha256: otherHash }), pinned)).toEqual({
      params: expect.objectContaining({ manifestSha256: otherHash }),
    });
  });

  it('GIVEN a pin for one source WHEN the step names another URL or plugin THEN the pin does not apply', () => {
    const values = valuesAfter(cniStep(), { manifestSha256: firstHash });
    const mirrored = paramsForDispatch(cniStep({ manifestUrl: 'https://mirror.example/flannel.yml' }), values);
    expect(mirrored).toEqual({ params: expect.objectContaining({ manifestSha256: '' }) });
    const calico = paramsForDispatch(cniStep({ plugin: 'calico' }), values);
    expect(calico).toEqual({ params: expect.objectContaining({ manifestSha256: '' }) });
  });

  it('GIVEN a step of another kind reporting manifestSha256 THEN the coordinator refuses that output', () => {
    const { accepted, refused } = trustedOutputs('host-prep', { manifestSha256: firstHash }, 'https://10.0.0.5:6443');
    expect(accepted).toEqual({});
    expect(refused).toEqual([{ name: 'manifestSha256', reason: 'only cni reports manifestSha256, not host-prep' }]);
  });
});
