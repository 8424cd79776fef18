import { parse as parseYaml } from 'yaml';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { redactSecrets } from '../../common/redact.ts';
import type { StepResult } from '../../common/step-events.ts';
import type { Host } from '../host/host.ts';
import type { StepDefinition } from './step.ts';
import { runStep } from './step-runner.ts';

export interface LocalStepOptions {
  kind: string;
  /** The parameters file's text: YAML or JSON, camelCase keys. */
  paramsText: string;
  paramsSource: string;
  dryRun: boolean;
  json: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  host: Host;
  registry: ReadonlyMap<string, StepDefinition<unknown>>;
  /** The result (stdout). */
  out(text: string): void;
  /** Progress lines (stderr). */
  err(text: string): void;
}

function describe(kind: string, dryRun: boolean, result: StepResult): string {
  const lines: string[] = [];
  const state = result.outcome === 'succeeded' ? (result.changed ? 'changed' : 'unchanged') : result.outcome;
  lines.push(`${kind}${dryRun ? ' (dry run)' : ''}: ${state}`);
  if (result.changes.length > 0) {
    lines.push(dryRun ? 'would change:' : 'changed:');
    for (const c of result.changes) lines.push(`  - ${c}`);
  }
  const outputs = Object.entries(result.outputs);
  if (outputs.length > 0) {
    lines.push('outputs:');
    for (const [k, v] of outputs) lines.push(`  ${k}: ${v}`);
  }
  if (result.error) {
    lines.push(`error: ${result.error.message} (${result.error.code})`);
    if (result.error.command) lines.push(`  command: ${result.error.command}`, `  exit code: ${result.error.exitCode}`);
    if (result.error.stderrTail) lines.push('  stderr:', ...result.error.stderrTail.split('\n').map((l) => `    ${l}`));
  }
  return `${lines.map(redactSecrets).join('\n')}\n`;
}

/** `kubeha-agent step KIND --params FILE [--dry-run]`: one step on this machine, for operators. Returns the exit code. */
export async function runLocalStep(options: LocalStepOptions): Promise<number> {
  const definition = options.registry.get(options.kind);
  if (!definition) {
    throw new KubehaError(
      ErrorCode.badRequest,
      `unknown step kind "${options.kind}"; known: ${[...options.registry.keys()].join(', ')}`,
    );
  }
  let params: unknown;
  try {
    params = parseYaml(options.paramsText);
  } catch (cause) {
    throw new KubehaError(
      ErrorCode.paramsInvalid,
      `${options.paramsSource} is not valid YAML or JSON: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const result = await runStep(definition, params ?? {}, {
    host: options.host,
    dryRun: options.dryRun,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.signal ? { signal: options.signal } : {}),
    onLog: (stream, text) => options.err(`${stream === 'info' ? '' : `[${stream}] `}${redactSecrets(text)}\n`),
  });
  options.out(
    options.json
      ? `${redactSecrets(JSON.stringify(result, null, 2))}\n`
      : describe(options.kind, options.dryRun, result),
  );
  return result.outcome === 'succeeded' ? 0 : 1;
}
