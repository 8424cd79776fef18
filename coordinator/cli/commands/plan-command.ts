import type { RunDetail, RunStepDetail } from '../../api/routes/runs-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { formatStructured, isStructured, type OutputFormat } from '../output-format.ts';
import { specRefusalExitCode } from '../spec-refusal.ts';

interface PlanReply {
  run: { id: string };
  newCluster: boolean;
  differences: { path: string; applied?: unknown; desired?: unknown }[];
  refusals: string[];
  nodes: { added: string[]; removed: string[] };
}

export interface PlanOptions {
  waitForAgents?: boolean;
  /** json or yaml: the plan reply and the finished run, structured. */
  format?: OutputFormat;
  /** Between two reads of the run while it goes. */
  pollMs?: number;
  /** Gives up waiting (the plan run goes on in the coordinator) after this long. */
  maxWaitMs?: number;
}

const namePattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

/** One step of the plan as the operator reads it: what its dry run found, or why it could not tell. */
function stepLines(step: RunStepDetail): string[] {
  const error = step.error?.message.split('\n')[0] ?? '';
  switch (step.state) {
    case 'succeeded': {
      const changes = step.wouldChange ?? [];
      if (changes.length === 0) return [`  ${step.id}: up to date`];
      return [`  ${step.id}: would change`, ...changes.map((c) => `      ${c}`)];
    }
    case 'failed':
      return [step.bestEffort ? `  ${step.id}: cannot tell: ${error}` : `  ${step.id}: FAILED: ${error}`];
    case 'skipped':
      return [`  ${step.id}: not checked (a check before it failed)`];
    default:
      return [`  ${step.id}: ${step.state}`];
  }
}

/** The plan per node (the coordinator's own checks last), and the number of steps that would change something. */
export function formatPlan(steps: RunStepDetail[]): { lines: string[]; changing: number; nodes: number } {
  const byNode = new Map<string, RunStepDetail[]>();
  for (const step of steps) {
    const list = byNode.get(step.node) ?? [];
    list.push(step);
    byNode.set(step.node, list);
  }
  const order = [...byNode.keys()].sort((a, b) => (a === 'coordinator' ? 1 : b === 'coordinator' ? -1 : 0));
  const lines: string[] = [];
  let changing = 0;
  const changingNodes = new Set<string>();
  for (const node of order) {
    lines.push(node);
    for (const step of byNode.get(node)!) {
      lines.push(...stepLines(step));
      if (step.state === 'succeeded' && (step.wouldChange ?? []).length > 0) {
        changing++;
        changingNodes.add(node);
      }
    }
  }
  return { lines, changing, nodes: changingNodes.size };
}

/**
 * `kubeha plan -f FILE` and `kubeha apply -f FILE --dry-run`: the coordinator validates the spec (every problem, exit
 * 2), then runs preflight, the cross-node checks and every step's dry run on the nodes' agents without storing the
 * spec or changing a node; this prints how the spec differs from the applied one and, per node, what would change.
 * Exit 0 when a deploy would go ahead, 1 when a check failed or a deploy of this spec would be refused.
 */
export async function planCommand(
  api: ApiClient,
  spec: unknown,
  file: string,
  out: (text: string) => void,
  err: (text: string) => void,
  options: PlanOptions = {},
): Promise<number> {
  const name = (spec as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  // An invalid name still gets the whole list of the spec's problems from the coordinator's validation.
  const urlName = typeof name === 'string' && namePattern.test(name) ? name : 'invalid-name';
  let plan: PlanReply;
  try {
    plan = await api.request<PlanReply>(
      'POST',
      `/v1/clusters/${urlName}/plan${options.waitForAgents ? '?waitForAgents=true' : ''}`,
      spec,
    );
  } catch (error) {
    const code = specRefusalExitCode(error, file, err);
    if (code === undefined) throw error;
    return code;
  }
  const run = await waitForRun(api, plan.run.id, options);
  if (!run) {
    err(`kubeha: plan run ${plan.run.id} has not finished; follow it with kubeha watch ${plan.run.id}`);
    return 1;
  }
  const formatted = formatPlan(run.steps);
  if (options.format && isStructured(options.format)) {
    out(formatStructured(options.format, { ...plan, run }));
  } else {
    out(`plan of cluster ${String(name)} (run ${run.id}); nothing was changed`);
    if (plan.newCluster) out('a new cluster: the coordinator does not know it yet');
    else if (plan.differences.length === 0) out('the spec is the one last applied (or nothing was applied yet)');
    else {
      out('differences from the applied spec:');
      for (const d of plan.differences) out(`  ${d.path}: ${show(d.applied)} -> ${show(d.desired)}`);
    }
    if (plan.nodes.added.length > 0) out(`nodes added (they join): ${plan.nodes.added.join(', ')}`);
    if (plan.nodes.removed.length > 0) {
      out(`nodes removed (drained, deleted, reset; before any node joins): ${plan.nodes.removed.join(', ')}`);
    }
    out('');
    for (const line of formatted.lines) out(line);
    out('');
    out(
      formatted.changing === 0
        ? 'every checked step is up to date'
        : `${formatted.changing} step(s) would change something on ${formatted.nodes} node(s)`,
    );
  }
  if (plan.refusals.length > 0) {
    err('kubeha: a deploy of this spec would be refused:');
    for (const refusal of plan.refusals) err(`  ${refusal}`);
    return 1;
  }
  if (run.state !== 'succeeded') {
    err(`kubeha: the plan run ${run.state}${run.error ? `: ${run.error}` : ''}`);
    return 1;
  }
  return 0;
}

async function waitForRun(api: ApiClient, runId: string, options: PlanOptions): Promise<RunDetail | undefined> {
  const deadline = Date.now() + (options.maxWaitMs ?? 30 * 60_000);
  for (;;) {
    const run = await api.request<RunDetail>('GET', `/v1/runs/${runId}`);
    if (run.state !== 'running') return run;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
  }
}
