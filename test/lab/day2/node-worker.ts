// A worker added with `kubeha apply`, then removed while a PodDisruptionBudget blocks its drain: the run fails naming
// the pod, the node stays cordoned (and is still a Node); once the budget is gone the same apply removes it.
import { expect } from 'vitest';
import type { Day2Lab, Day2Scenario } from './day2-scenario.ts';

interface RunJson {
  state?: string;
  error?: string | null;
  steps?: { id?: string; state: string; error?: { message?: string } | null }[];
}

const blocker = 'kubeha-drain-blocker';

async function kubectlOk(lab: Day2Lab, args: string[]): Promise<string> {
  const r = await lab.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Applies the lab's current spec without watching; returns the run, once it has ended. */
async function applyAndWait(lab: Day2Lab): Promise<{ runId: string; ok: boolean; run: RunJson }> {
  let runId = '';
  const started = await lab.cli(['apply', '-f', lab.writeSpec(), '--yes', '--no-watch'], (line) => {
    runId = /run (\S+) started/.exec(line)?.[1] ?? runId;
  });
  if (!started || !runId) throw new Error('kubeha apply: no run started');
  const ok = await lab.cli(['watch', runId]);
  return { runId, ok, run: (await lab.api('GET', `/v1/runs/${runId}`)) as RunJson };
}

export const nodeWorker: Day2Scenario = {
  name: 'node-worker',
  summary:
    'a worker added with apply; its removal blocked by a PodDisruptionBudget fails naming the pod and leaves it cordoned; removed once the budget goes',
  async run(lab) {
    const addStarted = Date.now();
    const worker = await lab.addNode('worker');
    const added = await applyAndWait(lab);
    if (!added.ok) throw new Error(`kubeha apply with ${worker.name} did not succeed: ${added.run.error ?? ''}`);
    const addS = (Date.now() - addStarted) / 1000;
    // The joins themselves, not the join-credentials steps made for them.
    const joinedSteps = (added.run.steps ?? [])
      .filter((s) => /^join-(worker|control-plane)\//.test(s.id ?? ''))
      .map((s) => s.id);
    await lab.until(
      `${worker.name} to be a Node`,
      120,
      async () => (await lab.kubectl(['get', 'node', worker.name])).code === 0,
    );

    // A pod only the new worker may run, and a budget that lets none of it go.
    await kubectlOk(lab, [
      'create',
      'deployment',
      blocker,
      '--image=registry.k8s.io/e2e-test-images/agnhost:2.56',
      '--',
      '/agnhost',
      'pause',
    ]);
    await kubectlOk(lab, [
      'patch',
      'deployment',
      blocker,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { template: { spec: { nodeSelector: { 'kubernetes.io/hostname': worker.name } } } } }),
    ]);
    await kubectlOk(lab, ['create', 'poddisruptionbudget', blocker, `--selector=app=${blocker}`, '--min-available=1']);
    let pod = '';
    await lab.until(`the ${blocker} pod to run on ${worker.name}`, 180, async () => {
      const r = await lab.kubectl([
        'get',
        'pods',
        '-l',
        `app=${blocker}`,
        '--field-selector',
        `spec.nodeName=${worker.name},status.phase=Running`,
        '-o',
        'jsonpath={.items[*].metadata.name}',
      ]);
      pod = r.stdout.trim().split(/\s+/)[0] ?? '';
      return r.code === 0 && pod !== '';
    });

    lab.forgetNode(worker);
    const blockedStarted = Date.now();
    const blocked = await applyAndWait(lab);
    const blockedS = (Date.now() - blockedStarted) / 1000;
    const drain = (blocked.run.steps ?? []).find((s) => s.id === `drain-node/${worker.name}`);
    const unschedulable = await kubectlOk(lab, ['get', 'node', worker.name, '-o', 'jsonpath={.spec.unschedulable}']);
    const afterBlocked = (await lab.api('GET', `/v1/clusters/${lab.clusterName}`)) as {
      appliedSpec: { spec: { nodes: { name: string }[] } } | null;
    };

    await kubectlOk(lab, ['delete', 'poddisruptionbudget', blocker]);
    const removed = await applyAndWait(lab);
    await kubectlOk(lab, ['delete', 'deployment', blocker, '--ignore-not-found']);
    const nodes = await kubectlOk(lab, ['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}']);
    return {
      worker: worker.name,
      add_s: Math.round(addS * 10) / 10,
      joined_steps: joinedSteps,
      blocking_pod: pod,
      blocked_run_ok: blocked.ok,
      blocked_run_state: blocked.run.state,
      blocked_s: Math.round(blockedS * 10) / 10,
      drain_state: drain?.state,
      drain_error: drain?.error?.message ?? '',
      delete_node_ran: (blocked.run.steps ?? []).some(
        (s) => s.id === `delete-node/${worker.name}` && s.state === 'succeeded',
      ),
      cordoned_after_failure: unschedulable.trim() === 'true',
      applied_spec_still_has_worker: afterBlocked.appliedSpec?.spec.nodes.some((n) => n.name === worker.name) ?? false,
      removed_run_ok: removed.ok,
      kubernetes_nodes: nodes.trim().split(/\s+/).sort(),
    };
  },
  check(result) {
    const worker = result['worker'] as string;
    expect(result['joined_steps']).toEqual([`join-worker/${worker}`]);
    expect(result['blocking_pod']).not.toBe('');
    // The blocked removal fails naming the pod, never deletes the Node, and leaves it cordoned.
    expect(result['blocked_run_ok']).toBe(false);
    expect(result['blocked_run_state']).toBe('failed');
    expect(result['drain_state']).toBe('failed');
    expect(result['drain_error']).toContain(result['blocking_pod'] as string);
    expect(result['drain_error']).toContain(`${worker} is left cordoned`);
    expect(result['delete_node_ran']).toBe(false);
    expect(result['cordoned_after_failure']).toBe(true);
    expect(result['applied_spec_still_has_worker']).toBe(true);
    // With the budget gone the same spec removes it.
    expect(result['removed_run_ok']).toBe(true);
    expect(result['kubernetes_nodes']).not.toContain(worker);
  },
};
