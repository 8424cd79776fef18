import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { apiBodyLimitBytes } from '../../api/api-limits.ts';
import { type ApiClient, ApiError } from '../api-client.ts';
import { type ConfirmTerminal, confirmed } from '../confirm.ts';
import { formatStructured, isStructured, type OutputFormat } from '../output-format.ts';
import { specRefusalExitCode } from '../spec-refusal.ts';
import { planCommand } from './plan-command.ts';
import { followRun, type WatchOptions, type WatchOutput } from './watch-command.ts';

/**
 * `kubeha apply -f cluster.yaml`: creates or replaces the cluster, starts a deploy run and watches it.
 * 2 when the file or the spec is invalid (every problem printed), 1 when the deploy is refused or fails, 0 when it
 * succeeds (a cluster already as the spec says ends "up to date").
 */
export async function applyCommand(
  api: ApiClient,
  file: string,
  output: WatchOutput,
  err: (text: string) => void,
  options: WatchOptions & {
    watch: boolean;
    waitForAgents?: boolean;
    format?: OutputFormat;
    dryRun?: boolean;
    yes?: boolean;
    terminal?: ConfirmTerminal;
    /** Nodes whose machines are gone: removed without running anything on them (and joined again if still named). */
    deadNodes?: string[];
  },
): Promise<number> {
  let spec: unknown;
  const tooLarge = (bytes: number) =>
    `kubeha: ${file} is ${bytes} bytes; the coordinator reads at most ${apiBodyLimitBytes} bytes per request`;
  try {
    if (file !== '-' && statSync(file).size > apiBodyLimitBytes) {
      err(tooLarge(statSync(file).size));
      return 2;
    }
    const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
    if (Buffer.byteLength(text) > apiBodyLimitBytes) {
      err(tooLarge(Buffer.byteLength(text)));
      return 2;
    }
    spec = parseYaml(text, { maxAliasCount: 100 });
  } catch (cause) {
    err(`kubeha: cannot read ${file}: ${(cause as Error).message}`);
    return 2;
  }
  const body = Buffer.byteLength(JSON.stringify(spec) ?? '');
  if (body > apiBodyLimitBytes) {
    err(`kubeha: ${file} makes a ${body}-byte request; the coordinator reads at most ${apiBodyLimitBytes} bytes`);
    return 2;
  }
  if (options.dryRun) {
    return planCommand(api, spec, file, (text) => output.write(`${text}\n`), err, {
      ...(options.waitForAgents ? { waitForAgents: true } : {}),
      ...(options.format ? { format: options.format } : {}),
    });
  }
  const name = (spec as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  const dead = options.deadNodes ?? [];
  const removed = typeof name === 'string' ? await nodesRemovedBy(api, name, spec) : [];
  for (const node of dead) if (!removed.includes(node)) removed.push(node);
  if (removed.length > 0) {
    const warning =
      `applying ${file} removes node(s) ${removed.join(', ')} from cluster ${String(name)}: each is drained (its pods ` +
      'evicted), its Node deleted (a control plane also leaves the load balancers and etcd), and kubeadm reset run on it.';
    if (options.terminal && !(await confirmed(warning, options.terminal, options.yes === true))) {
      err(`kubeha: ${file} not applied`);
      return 1;
    }
  }
  try {
    if (typeof name === 'string' && /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
      await api.request('PUT', `/v1/clusters/${name}`, spec);
    } else {
      await api.request('POST', '/v1/clusters', spec);
    }
  } catch (error) {
    const code = specRefusalExitCode(error, file, err);
    if (code === undefined) throw error;
    return code;
  }
  let run: { id: string };
  try {
    run = await api.request<{ id: string }>('POST', `/v1/clusters/${name}/runs`, {
      kind: 'deploy',
      ...(options.waitForAgents ? { waitForAgents: true } : {}),
      ...(dead.length > 0 ? { deadNodes: dead } : {}),
    });
  } catch (error) {
    // A change the cluster cannot take, or a node without an agent: said plainly, nothing started.
    if (error instanceof ApiError && error.status === 409) {
      err(`kubeha: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const format = options.format ?? 'table';
  if (!isStructured(format)) output.write(`cluster ${String(name)} applied; deploy run ${run.id} started\n`);
  if (!options.watch) {
    if (isStructured(format)) output.write(`${formatStructured(format, { cluster: name, run })}\n`);
    return 0;
  }
  const followed = await followRun(api, run.id, output, options);
  if (isStructured(format) && followed.run) {
    output.write(`${formatStructured(format, { cluster: name, run: followed.run })}\n`);
  }
  return followed.code;
}

/** The applied spec's nodes that the file's spec no longer names: what its deploy removes. None for a new cluster. */
async function nodesRemovedBy(api: ApiClient, name: string, spec: unknown): Promise<string[]> {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) return [];
  let cluster: { appliedSpec: { spec: { nodes: { name: string }[] } } | null };
  try {
    cluster = await api.request('GET', `/v1/clusters/${name}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return [];
    throw error;
  }
  const nodes = (spec as { spec?: { nodes?: unknown } } | null)?.spec?.nodes;
  const named = new Set(Array.isArray(nodes) ? nodes.map((n) => (n as { name?: unknown } | null)?.name) : []);
  return (cluster.appliedSpec?.spec.nodes ?? []).map((n) => n.name).filter((n) => !named.has(n));
}
