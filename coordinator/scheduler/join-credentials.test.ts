import { describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import { type ClusterValue, notStartedStep, type StepRecord } from '../store/store.ts';
import { paramsForDispatch, valueNames } from './cluster-values.ts';
import {
  certificateKeyMaxAgeMs,
  cleanupAfterFailedControlPlaneJoin,
  joinCredentialGate,
  missingClusterSecrets,
} from './join-credentials.ts';

function join(node: string, controlPlane: boolean, over: Partial<StepRecord> = {}): StepRecord {
  return {
    runId: 'run-1',
    id: `join/${node}`,
    seq: 10,
    kind: 'kubeadm-join',
    node,
    dependsOn: [],
    timeoutSeconds: 900,
    retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 1 },
    params: { controlPlane, caCertHashes: [] },
    concurrencyGroup: null,
    bestEffort: false,
    forNode: null,
    ...notStartedStep(),
    ...over,
  };
}

const value = (v: string, updatedAt: number, secret = true): ClusterValue => ({ value: v, secret, updatedAt });
const none = () => false;

describe('join credentials', () => {
  it('GIVEN a new cluster THEN an init token, a 64-hex certificate key and an 8-character auth_pass are made once', () => {
    const made = new Map(missingClusterSecrets(new Map(), 1));
    expect(made.get(valueNames.initToken)?.value).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(made.get(valueNames.certificateKey)?.value).toMatch(/^[0-9a-f]{64}$/);
    expect(made.get(valueNames.authPass)?.value).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(missingClusterSecrets(made, 2)).toEqual([]);
  });

  it('GIVEN a worker join without a token THEN a create-token step on the control plane comes first, with a fresh token', () => {
    const gate = joinCredentialGate(join('w1', false), none, new Map(), 'cp1', 1000, 50);
    expect(gate.steps.map((s) => [s.id, s.node, s.params['action'], s.forNode])).toEqual([
      ['join-credentials/create-token/w1/1', 'cp1', 'create-token', 'w1'],
    ]);
    expect(gate.values[0]?.[0]).toBe(valueNames.joinToken('w1'));
  });

  it('GIVEN a live token and a fresh key THEN a control-plane join goes at once; an old key is re-uploaded first', () => {
    const now = 10 * 3600_000;
    const values = new Map([
      [valueNames.joinToken('cp2'), value('abcdef.0123456789abcdef', now - 60_000)],
      [valueNames.certificateKey, value('a'.repeat(64), now - 60_000)],
    ]);
    expect(joinCredentialGate(join('cp2', true), none, values, 'cp1', now, 50).steps).toEqual([]);
    values.set(valueNames.certificateKey, value('a'.repeat(64), now - certificateKeyMaxAgeMs - 1));
    expect(
      joinCredentialGate(join('cp2', true), none, values, 'cp1', now, 50).steps.map((s) => s.params['action']),
    ).toEqual(['upload-certs']);
    // A token about to expire is replaced.
    values.set(valueNames.joinToken('cp2'), value('abcdef.0123456789abcdef', now - 29 * 60_000));
    expect(
      joinCredentialGate(
        join('cp2', true),
        (id) => id === 'join-credentials/create-token/cp2/1',
        values,
        'cp1',
        now,
        50,
      ).steps[0]?.id,
    ).toBe('join-credentials/create-token/cp2/2');
  });

  it('GIVEN a failed control-plane join THEN reset on the node precedes the etcd member removal through a healthy control plane', () => {
    const spec = {
      spec: { nodes: [{ name: 'cp2', address: '10.0.0.12', role: 'control-plane' }] },
    } as unknown as ClusterSpec;
    const [cleanup, member] = cleanupAfterFailedControlPlaneJoin(join('cp2', true, { attempt: 1 }), spec, 'cp1', 7);
    expect([cleanup?.id, cleanup?.node, cleanup?.kind]).toEqual(['cleanup-failed-join/cp2/1', 'cp2', 'kubeadm-reset']);
    expect(member).toMatchObject({
      node: 'cp1',
      kind: 'remove-etcd-member',
      dependsOn: ['cleanup-failed-join/cp2/1'],
      params: { memberName: 'cp2', memberPeerUrl: 'https://10.0.0.12:2380' },
    });
  });

  it('GIVEN stored values THEN secrets are added only when the step is sent, and a missing CA hash is named', () => {
    const values = new Map([
      [valueNames.joinToken('w1'), value('abcdef.0123456789abcdef', 1)],
      [valueNames.certificateKey, value('b'.repeat(64), 1)],
    ]);
    expect(paramsForDispatch(join('w1', false), values)).toEqual({ missing: valueNames.caCertHash });
    values.set(valueNames.caCertHash, value(`sha256:${'c'.repeat(64)}`, 1, false));
    const worker = paramsForDispatch(join('w1', false), values);
    expect(worker).toEqual({
      params: {
        controlPlane: false,
        caCertHashes: [`sha256:${'c'.repeat(64)}`],
        bootstrapToken: 'abcdef.0123456789abcdef',
      },
    });
  });
});
