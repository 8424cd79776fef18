import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startSimCoordinator } from '../sim/sim-coordinator.ts';
import { simClusterSpec, simScript, startSimFleet } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';
import { runKubehaCli } from '../support/run-command.ts';

const t = simFleetPerTest();

const kubeha = (args: string[]) => runKubehaCli(t.sim!.coordinator, args, { HOME: t.dir });

describe('the kubeha CLI against a coordinator with simulated agents', () => {
  it('GIVEN a spec file WHEN `kubeha apply -f` THEN the deploy runs to success with appended progress lines, and get/describe/kubeconfig answer', async () => {
    t.sim = await startSimCoordinator();
    t.dir = mkdtempSync(join(tmpdir(), 'kubeha-cli-'));
    const fleet = await startSimFleet(t.sim, {
      name: 'cli-a',
      controlPlanes: 3,
      workers: 2,
      script: simScript({ default: 10 }),
    });
    const { spec } = fleet;
    t.agents = fleet.agents;
    const file = join(t.dir, 'cluster.yaml');
    writeFileSync(file, stringify(spec));

    const applied = await kubeha(['apply', '-f', file]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const lines = applied.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^cluster cli-a applied; deploy run run-[0-9a-f-]+ started$/);
    expect(lines.some((l) => /^w2\s+join-worker\/w2\s+succeeded/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/\[#{30}\] \d+\/\d+ steps \(100%\)\s+run run-\S+ succeeded$/);
    const runId = /run (run-[0-9a-f-]+)/.exec(lines[0]!)![1]!;
    const dispatched = lines.findIndex((l) => /^w2\s+join-worker\/w2\s+dispatched/.test(l));
    expect(dispatched).toBeGreaterThan(0);
    expect(dispatched).toBeLessThan(lines.findIndex((l) => /^w2\s+join-worker\/w2\s+succeeded/.test(l)));

    // Watching a finished run replays its log in order and exits 0.
    const watched = await kubeha(['watch', runId]);
    expect(watched.code).toBe(0);
    expect(watched.stdout.trim().split('\n').at(-1)).toBe(lines.at(-1));

    const clusters = await kubeha(['get', 'clusters']);
    expect(clusters.stdout).toMatch(/cli-a\s+10\.10\.255\.100:16443\s+5\s+5\/5\s+yes\s+deploy succeeded/);
    const nodesOut = await kubeha(['get', 'nodes', 'cli-a']);
    expect(nodesOut.stdout.split('\n').filter((l) => l.includes('connected'))).toHaveLength(5);
    const described = await kubeha(['describe', 'run', runId]);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/join-control-plane\/cp2\s+cp2\s+succeeded\s+1\/3/);
    const kubeconfig = await kubeha(['kubeconfig', 'cli-a']);
    expect(kubeconfig.stdout).toContain('kind: Config');
    const runs = await kubeha(['get', 'runs', '-o', 'json']);
    expect(JSON.parse(runs.stdout)).toEqual([expect.objectContaining({ id: runId, state: 'succeeded' })]);
  });

  it('GIVEN an invalid spec WHEN applied THEN every problem is printed and the exit code is 2; bad usage is 2 too', async () => {
    t.sim = await startSimCoordinator();
    t.dir = mkdtempSync(join(tmpdir(), 'kubeha-cli-'));
    const { spec } = simClusterSpec({ name: 'cli-b', controlPlanes: 2, workers: 1 });
    const broken = { ...spec, spec: { ...spec.spec, endpoint: { ...spec.spec.endpoint, port: 6443 } } };
    const file = join(t.dir, 'cluster.yaml');
    writeFileSync(file, stringify(broken));
    const applied = await kubeha(['apply', '-f', file]);
    expect(applied.code).toBe(2);
    expect(applied.stderr).toContain('spec.nodes');
    expect(applied.stderr).toContain('spec.endpoint.port');
    expect((await kubeha(['apply'])).code).toBe(2);
    expect((await kubeha(['describe', 'cluster'])).code).toBe(2);
  });
});
