import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import type { ClusterHealthReport } from '../../agent/kubeadm/cluster-health-report.ts';
import { followRun } from '../../coordinator/cli/commands/watch-command.ts';
import type { SimAgent, SimStep } from '../sim/sim-agent.ts';
import { type SimCoordinator, startSimCoordinator, waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simScript, startSimFleet, stopSimFleet } from '../sim/sim-fleet.ts';
import { type CommandResult, capturedOutput, kubehaCliMain, runCommand, runKubehaCli } from '../support/run-command.ts';
import { waitFor } from '../support/wait-for.ts';

let sim: SimCoordinator | undefined;
let agents: SimAgent[] = [];
let dir: string | undefined;
let release: (() => void) | undefined;

afterEach(async () => {
  release?.();
  release = undefined;
  await stopSimFleet(agents, sim);
  sim = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function env(): NodeJS.ProcessEnv {
  return { ...process.env, HOME: dir, KUBEHA_TOKEN: sim!.coordinator.adminToken };
}

const kubeha = (args: string[]) => runKubehaCli(sim!.coordinator, args, { HOME: dir });

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** The CLI on a pseudo-terminal (util-linux script), answering `input` to what it asks. */
function kubehaOnTerminal(args: string[], input: string): Promise<CommandResult> {
  const command = [process.execPath, kubehaCliMain, '--server', sim!.coordinator.apiUrl, ...args].map(quote).join(' ');
  return runCommand('script', ['-qec', command, '/dev/null'], {
    env: env(),
    started: (child) => {
      // The question is asked once the cluster is known: answer after it is on the terminal.
      let said = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes('Type "yes"') && input) {
          child.stdin?.write(input);
          input = '';
        }
      });
    },
  });
}

function healthReport(nodes: { name: string; role: string }[]): ClusterHealthReport {
  return {
    ok: true,
    checkedOn: 'cp1',
    endpoint: '10.10.255.100:16443',
    problems: [],
    nodes: nodes.map((n) => ({ name: n.name, role: n.role, ready: true, inCluster: true })),
    controlPlanePods: [{ node: 'cp1', component: 'etcd', phase: 'Running', ready: true }],
    etcd: {
      members: [
        {
          id: 'a1',
          name: 'cp1',
          peerUrls: ['https://10.10.0.11:2380'],
          isLearner: false,
          healthy: true,
          isLeader: true,
        },
      ],
      leader: 'cp1',
    },
    leases: [{ name: 'kube-scheduler', holderIdentity: 'cp1_x', holderNode: 'cp1' }],
    readyz: { url: 'https://10.10.255.100:16443/readyz', ok: true, httpStatus: 200 },
    kubeconfigs: [],
    podNetwork: { checked: [{ from: 'cp1', to: 'w1', ok: true }] },
  };
}

const cniFailure = {
  code: 'KUBEHA_COMMAND_FAILED' as const,
  message: 'cni: kubectl apply exited 1\nwhile applying the flannel manifest',
  command: 'kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f /etc/kubeha/cni.yaml',
  exitCode: 1,
  stderrTail: 'error: dial tcp 10.10.255.100:16443: connect: EHOSTUNREACH',
};

describe('the kubeha CLI as an operator uses it', () => {
  it('GIVEN bad flag values, unknown names and missing IDs THEN each is refused with the flag or the thing named, and nothing is created', async () => {
    sim = await startSimCoordinator();
    dir = mkdtempSync(join(tmpdir(), 'kubeha-cli-'));

    const ttl = await kubeha(['token', 'create', '--ttl', 'abc']);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('--ttl: "abc" is not a duration');
    const limit = await kubeha(['token', 'create', '--usage-limit', '0']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--usage-limit: "0" is not a whole number from 1 to 10000');
    // The API's own validation, in the words of the command line.
    const node = await kubeha(['token', 'create', '--node', 'Not_A_Name']);
    expect(node.code).toBe(2);
    expect(node.stderr).toMatch(/^kubeha: --node: must match pattern/);
    expect(node.stderr).not.toContain('anyOf');
    expect(JSON.parse((await kubeha(['token', 'list', '-o', 'json'])).stdout)).toEqual([]);

    const created = await kubeha([
      'token',
      'create',
      '--ttl',
      '2h',
      '--usage-limit',
      '3',
      '--description',
      'rack 4',
      '-o',
      'json',
    ]);
    expect(created.code).toBe(0);
    const token = JSON.parse(created.stdout) as {
      id: string;
      expiresAt: string;
      createdAt: string;
      usageLimit: number;
    };
    expect(Date.parse(token.expiresAt) - Date.parse(token.createdAt)).toBe(2 * 3600 * 1000);
    expect(token.usageLimit).toBe(3);
    const listed = await kubeha(['token', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`^${token.id}\\s+-\\s+0/3\\s+\\S+\\s+usable\\s+rack 4$`, 'm'));
    expect(parseYaml((await kubeha(['get', 'tokens', '-o', 'yaml'])).stdout)).toEqual([
      expect.objectContaining({ id: token.id, usageLimit: 3 }),
    ]);
    expect((await kubeha(['token', 'delete', token.id])).stdout).toContain(`bootstrap token ${token.id} deleted`);
    expect(JSON.parse((await kubeha(['token', 'list', '-o', 'json'])).stdout)).toEqual([]);

    // One rule for a name that does not exist: exit 1 and the name said, for runs as for nodes.
    for (const noun of ['runs', 'nodes']) {
      const missing = await kubeha(['get', noun, 'nosuch']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no cluster nosuch');
      expect(missing.stdout).toBe('');
    }
    const noId = await kubeha(['describe', 'run']);
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain('describe run needs a run ID (or a unique prefix of one)');
    const noRun = await kubeha(['describe', 'run', 'feed']);
    expect(noRun.code).toBe(1);
    expect(noRun.stderr).toContain('no run feed');
    const badFormat = await kubeha(['get', 'clusters', '-o', 'xml']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('-o/--output: "xml" is not one of json, yaml, wide');
    expect((await kubeha(['delete', 'cluster', 'nosuch', '--yes'])).code).toBe(1);
    expect((await kubeha(['agents', 'revoke', 'nosuch'])).stderr).toContain('no agent nosuch');
  }, 180_000);

  it('GIVEN a step that fails once THEN apply shows its reason and retry, durations and a phase summary; describe run keeps the attempt whole; get nodes and verify read the cluster', async () => {
    sim = await startSimCoordinator();
    dir = mkdtempSync(join(tmpdir(), 'kubeha-cli-'));
    const nodes = [
      { name: 'cp1', role: 'control-plane' },
      { name: 'w1', role: 'worker' },
    ];
    const fleet = await startSimFleet(sim, {
      name: 'ops-a',
      controlPlanes: 1,
      workers: 1,
      heartbeatMs: 200,
      script: simScript({ default: 10 }, (step: SimStep) => {
        if (step.stepId === 'cni/cp1' && step.attempt === 1) return { outcome: 'fail', failure: cniFailure };
        if (step.kind === 'verify') return { outputs: { report: JSON.stringify(healthReport(nodes)) }, changed: false };
        return undefined;
      }),
    });
    agents = fleet.agents;
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, stringify(fleet.spec));

    const applied = await kubeha(['apply', '-f', file]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const lines = applied.stdout.trim().split('\n');
    const runId = /run (run-[0-9a-f-]+)/.exec(lines[0]!)![1]!;
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^cp1\s+cni\/cp1\s+retry-wait\s+cni: kubectl apply exited 1; retry 2 at \d\d:\d\d:\d\dZ \(in \d+\.\ds\)\s+\[\d+\/\d+\]$/,
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^cp1\s+cni\/cp1\s+succeeded \(attempt 2\)\s+\d+\.\ds\s+\[/));
    const header = lines.findIndex((l) => /^PHASE\s+STEPS\s+WALL\s+SLOWEST NODE$/.test(l));
    expect(header).toBeGreaterThan(0);
    expect(lines.slice(header)).toContainEqual(expect.stringMatching(/^cni\s+1\s+\d+\.\ds\s+cp1 \(\d+\.\ds\)$/));
    expect(lines.slice(header)).toContainEqual(expect.stringMatching(/^preflight\s+2\s+/));
    expect(lines.at(-1)).toMatch(/\[#{30}\] \d+\/\d+ steps \(100%\)\s+run run-\S+ succeeded$/);

    // The first attempt's error stays, whole, after the second attempt succeeded; a short ID is enough.
    const described = await kubeha(['describe', 'run', runId.slice(0, 10)]);
    expect(described.code).toBe(0);
    expect(described.stdout).toContain(`Run:       ${runId}`);
    expect(described.stdout).toMatch(/cni\/cp1\s+cp1\s+succeeded\s+2\/3/);
    expect(described.stdout).toContain('cni/cp1 on cp1, now succeeded:');
    expect(described.stdout).toMatch(/attempt 1\/3 failed at \S+, retry due \S+:/);
    expect(described.stdout).toContain('KUBEHA_COMMAND_FAILED: cni: kubectl apply exited 1');
    expect(described.stdout).toContain('while applying the flannel manifest');
    expect(described.stdout).toContain(`command:   ${cniFailure.command}`);
    expect(described.stdout).toContain('exit code: 1');
    expect(described.stdout).toContain(`| ${cniFailure.stderrTail}`);
    const detail = JSON.parse((await kubeha(['describe', 'run', runId, '-o', 'json'])).stdout) as {
      steps: { id: string; attempts: { attempt: number; error: { stderrTail?: string } }[] }[];
    };
    expect(detail.steps.find((s) => s.id === 'cni/cp1')?.attempts).toEqual([
      expect.objectContaining({ attempt: 1, error: expect.objectContaining({ stderrTail: cniFailure.stderrTail }) }),
    ]);

    const got = await kubeha(['get', 'nodes', 'ops-a']);
    expect(got.code).toBe(0);
    const [head, ...rows] = got.stdout.trim().split('\n');
    expect(head).toMatch(/^CLUSTER\s+NODE\s+ROLE\s+AGENT\s+HEARTBEAT\s+HEALTH\s+VIP\s+LAST STEP$/);
    expect(rows).toContainEqual(
      expect.stringMatching(/^ops-a\s+cp1\s+control-plane\s+connected\s+\d+s ago\s+\S+.*verify\/cp1 succeeded$/),
    );
    expect(rows).toContainEqual(
      expect.stringMatching(/^ops-a\s+w1\s+worker\s+connected\s+\d+s ago\s+.*join-worker\/w1 succeeded$/),
    );
    expect((await kubeha(['get', 'nodes', 'ops-a', '-o', 'wide'])).stdout).toMatch(/ADDRESS\s+AGENT ID\s+HOSTNAME/);
    const asYaml = parseYaml((await kubeha(['get', 'nodes', 'ops-a', '-o', 'yaml'])).stdout) as {
      name: string;
      agentState: string;
      lastStep: { id: string };
    }[];
    expect(asYaml.map((n) => [n.name, n.agentState, n.lastStep.id])).toEqual([
      ['cp1', 'connected', 'verify/cp1'],
      ['w1', 'connected', 'join-worker/w1'],
    ]);

    const verified = await kubeha(['verify', 'ops-a']);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('cluster health, checked on cp1: ok');
    expect(verified.stdout).toMatch(/etcd:\s+cp1 \(leader\); leader cp1/);
    expect(verified.stdout).toContain('leases:    kube-scheduler held by cp1');
    expect(verified.stdout).toContain('endpoint:  https://10.10.255.100:16443/readyz ready');
    expect(verified.stdout).toContain('pod traffic: 1/1 node pairs reach each other');
    expect(verified.stdout).toContain('agents:    all 2 connected');
    expect(verified.stdout.trim().split('\n').at(-1)).toBe('verify: ok');

    // An agent gone: Kubernetes may still call its node Ready, but kubeha can no longer act on it.
    await agents[1]!.stop();
    await waitFor('the coordinator to see w1 offline', async () =>
      (await sim!.api.request<{ agents: { hostname: string; connected: boolean }[] }>('GET', '/v1/agents')).agents.some(
        (a) => a.hostname === 'w1' && !a.connected,
      ),
    );
    const gone = await kubeha(['verify', 'ops-a']);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toMatch(/problem: node w1: its agent is offline \(\S+, last heartbeat \d+s ago\)/);
    expect(gone.stdout.trim().split('\n').at(-1)).toBe('verify: FAILED');
    expect(gone.stdout).toContain('agents:    1/2 connected');
    const goneJson = JSON.parse((await kubeha(['verify', 'ops-a', '-o', 'json'])).stdout) as {
      ok: boolean;
      agentProblems: string[];
      agents: { nodes: { node: string; state: string }[] };
      report: ClusterHealthReport;
      run: { state: string; error: string };
    };
    expect(goneJson.ok).toBe(false);
    expect(goneJson.agentProblems).toHaveLength(1);
    // The CLI says what the verify run itself found: any client of the API sees the same.
    expect(goneJson.run.state).toBe('failed');
    expect(goneJson.run.error).toMatch(/^agents-connected: node w1 /);
    expect(goneJson.agents.nodes.map((n) => [n.node, n.state])).toEqual([
      ['cp1', 'connected'],
      ['w1', 'offline'],
    ]);
    expect(goneJson.report.etcd.leader).toBe('cp1');
  }, 180_000);

  it('GIVEN a step failing with a code no retry can change THEN it runs once, and the bar of the failed run counts skipped steps apart', async () => {
    sim = await startSimCoordinator();
    dir = mkdtempSync(join(tmpdir(), 'kubeha-cli-'));
    const fleet = await startSimFleet(sim, {
      name: 'ops-b',
      controlPlanes: 1,
      workers: 1,
      script: simScript({ default: 10 }, (step) =>
        step.stepId === 'join-worker/w1'
          ? {
              outcome: 'fail',
              // The flag is left false, as an older agent reports it: the code alone makes it final.
              deterministic: false,
              failure: { code: 'KUBEHA_STEP_REFUSED', message: 'kubeadm-join: refusing: w1 is not this node' },
            }
          : undefined,
      ),
    });
    agents = fleet.agents;
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, stringify(fleet.spec));
    const applied = await kubeha(['apply', '-f', file]);
    expect(applied.code).toBe(1);
    expect(fleet.executions.filter((e) => e.stepId === 'join-worker/w1')).toHaveLength(1);
    const last = applied.stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(/\] \d+\/\d+ steps \(\d+%\), 1 failed, 1 skipped\s+run run-\S+ failed/);
    expect(last).not.toContain('(100%)');
    expect(applied.stdout).toMatch(/w1\s+join-worker\/w1\s+failed\s+kubeadm-join: refusing: w1 is not this node/);
  }, 120_000);

  it('GIVEN a running deploy THEN Ctrl-C on apply says the run goes on and how to cancel it, run cancel takes a short ID, and a terminal watch draws the state now', async () => {
    sim = await startSimCoordinator();
    dir = mkdtempSync(join(tmpdir(), 'kubeha-cli-'));
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fleet = await startSimFleet(sim, {
      name: 'ops-c',
      controlPlanes: 1,
      workers: 1,
      script: simScript({ default: 10 }, (step) => (step.kind === 'kubeadm-init' ? { until: held } : undefined)),
    });
    agents = fleet.agents;
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, stringify(fleet.spec));

    const child = spawn(process.execPath, [kubehaCliMain, '--server', sim.coordinator.apiUrl, 'apply', '-f', file], {
      env: env(),
    });
    const output = capturedOutput(child);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor('the deploy to reach kubeadm init', () =>
      /kubeadm-init\/cp1\s+(dispatched|running)/.test(output.stdout),
    );
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const runId = /deploy run (run-[0-9a-f-]+) started/.exec(output.stdout)![1]!;
    expect(output.stderr).toContain(`kubeha: stopped watching; run ${runId} goes on in the coordinator.`);
    expect(output.stderr).toContain(`cancel it:       kubeha run cancel ${runId}`);
    expect((await sim.api.request<{ state: string }>('GET', `/v1/runs/${runId}`)).state).toBe('running');

    // A terminal attached mid-run shows each node where it is now, not the run's start replayed.
    let screen = '';
    const watching = followRun(sim.api, runId, { isTTY: true, write: (t) => (screen += t) });
    await waitFor('the first frame', () => screen.includes('steps ('));
    const firstFrame = screen;
    expect(firstFrame).toMatch(/cp1\s+kubeadm-init\/cp1\s+(dispatched|running)/);
    expect(firstFrame).toMatch(/w1\s+kube-packages\/w1\s+succeeded/);
    expect(firstFrame).not.toMatch(/\b0\/\d+ steps/);

    const cancelled = await kubeha(['run', 'cancel', runId.slice(4, 12)]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toContain(`run ${runId} cancelled`);
    const followed = await watching;
    expect(followed.code).toBe(1);
    // The last frame is drawn after the run ended: its state, with the cancelled steps counted apart.
    expect(screen.slice(screen.lastIndexOf('\x1b[2K['))).toMatch(/steps \(\d+%\), \d+ cancelled\s+run \S+ cancelled/);
    expect((await waitForRunEnd(sim.api, runId)).state).toBe('cancelled');
    const again = await kubeha(['run', 'cancel', runId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('has already finished (cancelled)');
  }, 120_000);

  it('GIVEN a terminal THEN reset, drill failover and delete cluster ask first and stop on anything but yes; --yes goes on', async () => {
    sim = await startSimCoordinator();
    dir = mkdtempSync(join(tmpdir(), 'kubeha-cli-'));
    const fleet = await startSimFleet(sim, {
      name: 'ops-d',
      controlPlanes: 1,
      workers: 1,
      script: simScript({ default: 5 }),
    });
    agents = fleet.agents;
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, stringify(fleet.spec));
    expect((await kubeha(['apply', '-f', file])).code).toBe(0);

    const reset = await kubehaOnTerminal(['reset', 'ops-d'], 'no\n');
    expect(reset.stdout).toContain('reset runs kubeadm reset on every node of cluster ops-d');
    expect(reset.stdout).toContain('kubeha: reset of ops-d not started');
    const drill = await kubehaOnTerminal(['drill', 'failover', 'ops-d'], 'n\n');
    expect(drill.stdout).toContain('drill failover stops keepalived');
    expect(drill.stdout).toContain('not started');
    const kept = await kubehaOnTerminal(['delete', 'cluster', 'ops-d'], '\n');
    expect(kept.stdout).toContain('cluster ops-d not deleted');
    const runs = JSON.parse((await kubeha(['get', 'runs', 'ops-d', '-o', 'json'])).stdout) as { kind: string }[];
    expect(runs.map((r) => r.kind)).toEqual(['deploy']);

    const yes = await kubehaOnTerminal(['reset', 'ops-d', '--yes'], '');
    expect(yes.stdout).not.toContain('Type "yes"');
    expect(yes.stdout).toMatch(/reset run run-\S+ of ops-d started/);
    const deleted = await kubeha(['delete', 'cluster', 'ops-d', '--yes']);
    expect(deleted.stdout).toContain('cluster ops-d deleted');
    expect((await kubeha(['get', 'clusters', '-o', 'json'])).stdout.trim()).toBe('[]');
  }, 180_000);
});
