import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { requireClusterSpec } from '../cluster-spec/parse-cluster-spec.ts';
import { planRun } from './plan-run.ts';

function fixture(name: string) {
  return requireClusterSpec(
    parse(readFileSync(new URL(`../../test/fixtures/specs-valid/${name}`, import.meta.url), 'utf8')),
  );
}

describe('planRun certs-renew', () => {
  it('GIVEN three control planes and two workers THEN one renewal per control plane, one after another, none on a worker', () => {
    const requestedAt = Date.parse('2027-03-01T12:00:00Z');
    const plan = planRun('certs-renew', fixture('design-example.yaml'), { members: [], requestedAt });

    expect(plan).toMatchObject({ kind: 'certs-renew', cluster: 'prod-a' });
    expect(plan.steps.map((s) => [s.id, s.kind, s.node, s.dependsOn])).toEqual([
      ['certs-renew/k8s-master1', 'certs-renew', 'k8s-master1', []],
      ['certs-renew/k8s-master2', 'certs-renew', 'k8s-master2', ['certs-renew/k8s-master1']],
      ['certs-renew/k8s-master3', 'certs-renew', 'k8s-master3', ['certs-renew/k8s-master2']],
    ]);
    expect(plan.steps[1]!.params).toEqual({
      // What was not renewed since the request: a renewal then expires 365 days later (2 minutes of clock skew allowed).
      renewIfExpiresBefore: '2028-02-29T11:58:00.000Z',
      apiserverAddress: '192.168.1.11',
      restartTimeoutSeconds: 300,
    });
    for (const step of plan.steps) {
      expect(step.runsOn).toBe('agent');
      // kubeadm certs renew all and two waits of up to restartTimeoutSeconds fit in the step's timeout.
      expect(step.timeoutSeconds).toBeGreaterThan(2 * 300);
      expect(step.retry.maxAttempts).toBeGreaterThan(1);
    }
  });

  it('GIVEN IPv6 control planes THEN each step reads its apiserver on its own address without the prefix', () => {
    const plan = planRun('certs-renew', fixture('ipv6-five-control-planes.yaml'));
    expect(plan.steps.map((s) => s.params['apiserverAddress'])).toEqual([
      'fd00:10::11',
      'fd00:10::12',
      'fd00:10::13',
      'fd00:10::14',
      'fd00:10::15',
    ]);
  });
});
