import { describe, expect, it } from 'vitest';
import type { SimStep } from '../sim/sim-agent.ts';
import { simKubeconfig, simScript } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { appliedWithCli, cliOf } from '../support/cli-sim-cluster.ts';

const t = simFleetPerTest();

/** The admin kubeconfig a control plane reports after its renewal: a new client certificate for the same endpoint. */
const renewedKubeconfig = (node: string) =>
  `${simKubeconfig}users:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: cmVuZXdlZC1vbi0${node}\n`;

describe('kubeha certs renew', () => {
  it('GIVEN a deployed cluster THEN certs renew starts the renewal run and watches it: the control planes one at a time, never a worker, and kubeconfig gives the renewed admin kubeconfig', async () => {
    const { kubeha, executions } = await appliedWithCli(t, {
      name: 'ops-r',
      controlPlanes: 3,
      workers: 1,
      script: simScript({ default: 5, 'certs-renew': 50 }, (step: SimStep) =>
        step.kind === 'certs-renew' ? { outputs: { kubeconfig: renewedKubeconfig(step.node) } } : undefined,
      ),
    });
    expect((await kubeha(['kubeconfig', 'ops-r'])).stdout.trim()).toBe(simKubeconfig.trim());

    const renewed = await kubeha(['certs', 'renew', 'ops-r']);

    expect(renewed.stderr).toBe('');
    expect(renewed.code).toBe(0);
    const lines = renewed.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^certs-renew run run-\S+ of ops-r started$/);
    expect(lines.at(-1)).toMatch(/run run-\S+ succeeded$/);
    const renewals = executions.filter((e) => e.kind === 'certs-renew');
    expect(renewals.map((e) => e.node)).toEqual(['cp1', 'cp2', 'cp3']);
    for (const [previous, next] of renewals.slice(0, -1).map((e, i) => [e, renewals[i + 1]!] as const)) {
      expect(next.startedAt).toBeGreaterThanOrEqual(previous.finishedAt!);
    }
    expect(renewals[1]!.params).toMatchObject({ apiserverAddress: '10.10.0.12', restartTimeoutSeconds: 300 });
    // Everything not renewed since the operator asked: a certificate renewed now expires after this.
    const before = Date.parse(String(renewals[1]!.params['renewIfExpiresBefore']));
    expect(before).toBeGreaterThan(Date.now() + 364 * 86_400_000);
    expect(before).toBeLessThan(Date.now() + 365 * 86_400_000);
    expect((await kubeha(['kubeconfig', 'ops-r'])).stdout.trim()).toBe(renewedKubeconfig('cp3').trim());
    const runs = JSON.parse((await kubeha(['get', 'runs', 'ops-r', '-o', 'json'])).stdout) as { kind: string }[];
    expect(runs.map((r) => r.kind)).toEqual(['deploy', 'certs-renew']);
  }, 120_000);

  it('GIVEN no cluster of that name THEN certs renew fails naming it', async () => {
    await t.startCoordinator();
    const missing = await cliOf(t)(['certs', 'renew', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no cluster nope');
  }, 60_000);
});
