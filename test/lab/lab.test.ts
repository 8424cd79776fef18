import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { labPrefix, listNetns, processesInNetns, projectRoot } from './lab-node.ts';
import { expectNothingLeft, labRunner } from './lab-test-helpers.ts';

const lab = labRunner();
const runLab = lab.run;
afterAll(() => lab.cleanup());

describe('npm run lab -- --stand-ins (the stand-in control plane)', () => {
  it('deploys 3 control planes and 2 workers, verifies them, drills a failover and leaves nothing behind', async () => {
    // WHEN the lab runs with its defaults
    const { code, output, report } = await runLab('default', ['--stand-ins']);
    // THEN the deploy succeeded, the endpoint answers through the VIP and verify is all green
    expect(report.error, output.slice(-4000)).toBeUndefined();
    expect(report.run_succeeded).toBe(true);
    expect(report.readyz_through_vip).toBe(true);
    expect(report.verify_ok).toBe(true);
    // AND the drill moved the VIP, the endpoint recovered, and the VIP was never on two nodes
    expect(report.vip_holders.length).toBeGreaterThanOrEqual(2);
    expect(new Set(report.vip_holders.flat()).size).toBeGreaterThanOrEqual(2);
    expect(report.endpoint_recovered).toBe(true);
    expect(report.vip_holders_max).toBe(1);
    expect(report.failover_gap_s).not.toBeNull();
    // AND from the first load-balancer step on, the VIP was on exactly one control plane until the drill
    expect(report.deploy_vip).toMatchObject({ without_holder_ms: 0, with_two_ms: 0 });
    expect(report.deploy_vip?.first_held_after_lb_s).not.toBeNull();
    expect(report.phases.map((p) => p.name)).toEqual([
      'lab nodes',
      'coordinator',
      'enroll agents',
      'plan before the apply (kubeha plan)',
      'deploy (kubeha apply)',
      'readyz through the VIP',
      'verify (kubeha verify)',
      'apply the same spec again',
      'plan after the apply (kubeha plan)',
      'failover drill (kubeha drill failover)',
    ]);
    // AND kubeha plan before the apply listed, per node, what the deploy would change, and changed nothing: no file the
    // deploy writes changed on a node, and the deploy then changed every step the plan listed
    const nodes = ['cp1', 'cp2', 'cp3', 'w1', 'w2'];
    expect(report.plan.before).toMatchObject({ exit_ok: true, node_files_changed: [] });
    expect([...(report.plan.before?.nodes_with_changes ?? [])].sort()).toEqual(nodes);
    for (const node of nodes) expect(report.plan.before?.would_change).toContain(`host-prep/${node}`);
    expect(output).toMatch(/\| {3}host-prep\/cp1: would change\n/);
    expect(report.plan.deploy_left_undone).toEqual([]);
    // AND after the apply it found the applied spec and nothing to change
    expect(report.plan.after).toMatchObject({
      exit_ok: true,
      same_spec: true,
      would_change: [],
      node_files_changed: [],
    });
    // AND applying the same spec again was a no-op that said so: exit 0, "up to date", no step changed anything,
    // and no kubeadm join or reset (nor join credentials) was even planned
    expect(report.reapply).toMatchObject({ exit_ok: true, up_to_date: true, changed_steps: [] });
    for (const kind of ['kubeadm-join', 'join-credentials', 'kubeadm-reset'])
      expect(report.reapply?.step_kinds).not.toContain(kind);
    expect(output).toContain('== kubeha lab report');
    expect(code).toBe(0);
    // AND after teardown no namespace, mount, process or directory of the lab remains
    expectNothingLeft(report);
  }, 900_000);

  it('tears everything down on Ctrl-C in the middle of the deploy', async () => {
    // GIVEN a lab in the middle of its deploy
    const child = spawn(
      process.execPath,
      ['test/lab/lab.ts', '--stand-ins', '--control-planes', '1', '--workers', '1'],
      {
        cwd: projectRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        output += c.toString();
        if (output.includes('kubeha apply -f')) resolve();
      });
      child.once('close', () => reject(new Error(`the lab ended before its deploy:\n${output}`)));
    });
    const id = /network namespaces khlab-([0-9a-f]{6})-\*/.exec(output)?.[1];
    expect(id).toBeDefined();
    const namespaces = listNetns(`${labPrefix}${id}-`);
    expect(namespaces.length).toBe(4);
    const inodes = namespaces.map((n) => statSync(`/run/netns/${n}`).ino);
    // WHEN it gets SIGINT
    child.kill('SIGINT');
    // THEN it exits 130 and nothing of it is left
    expect(await exited).toBe(130);
    expect(output).toContain('SIGINT: tearing the lab down');
    expect(listNetns(`${labPrefix}${id}-`)).toEqual([]);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(`${labPrefix}${id}`);
    expect(existsSync(`/var/tmp/${labPrefix}${id}`)).toBe(false);
    for (const inode of inodes) expect(processesInNetns(inode)).toEqual([]);
  }, 300_000);

  it('finishes the deploy when the coordinator is killed in the middle of it and started again', async () => {
    const { code, output, report } = await runLab('restart', [
      '--stand-ins',
      '--control-planes',
      '3',
      '--workers',
      '1',
      '--restart-coordinator-mid-deploy',
      '--skip-drill',
    ]);
    expect(report.error, output.slice(-4000)).toBeUndefined();
    expect(report.coordinator_restarted).toBe(true);
    expect(output).toMatch(/in the middle of the deploy:\s*\n.*killing the coordinator \(SIGKILL\)/);
    expect(report.run_succeeded).toBe(true);
    expect(report.verify_ok).toBe(true);
    expect(code).toBe(0);
    expectNothingLeft(report);
  }, 900_000);

  it('deploys an air-gapped cluster: every package repository, registry, image repository and the CNI manifest from mirrors in the lab', async () => {
    const { code, output, report } = await runLab('mirrors', [
      '--control-planes',
      '1',
      '--workers',
      '1',
      '--skip-drill',
      '--mirrors',
    ]);
    expect(report.error, output.slice(-4000)).toBeUndefined();
    expect(report.run_succeeded).toBe(true);
    // Each node's repositories, registry mirror and pause image name the mirrors, the init node's kubeadm config
    // names the image repository, and the CNI manifest came from the mirror: 4 checks per node, 2 more.
    expect(report.mirrors?.problems).toEqual([]);
    expect(report.mirrors?.checked).toHaveLength(4 * 2 + 2);
    expect(report.verify_ok).toBe(true);
    expect(report.reapply).toMatchObject({ up_to_date: true, changed_steps: [] });
    expect(code).toBe(0);
    expectNothingLeft(report);
  }, 900_000);
});
