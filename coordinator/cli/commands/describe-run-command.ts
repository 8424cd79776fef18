import type { ApiClient } from '../api-client.ts';
import { formatStructured, isStructured, type OutputFormat } from '../output-format.ts';
import { phaseSummaries, type RunDetailView, type RunStepView, renderPhaseSummary } from '../run-progress.ts';
import { renderTable } from '../table.ts';

function took(from: string | null, to: string | null): string {
  if (!from || !to) return '-';
  return `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)}s`;
}

type StepError = NonNullable<RunStepView['error']>;

/** An error whole: its code and message, the command line, its exit code and the tail of its stderr. */
export function describeStepError(error: StepError, indent: string): string[] {
  const lines = error.message.split('\n');
  const out = [`${indent}${error.code}: ${lines[0]}`, ...lines.slice(1).map((l) => `${indent}  ${l}`)];
  if (error.command !== undefined) out.push(`${indent}command:   ${error.command}`);
  if (error.exitCode !== undefined) out.push(`${indent}exit code: ${error.exitCode}`);
  if (error.stderrTail) {
    out.push(
      `${indent}stderr (last lines):`,
      ...error.stderrTail
        .trimEnd()
        .split('\n')
        .map((l) => `${indent}  | ${l}`),
    );
  }
  if (error.deterministic) out.push(`${indent}(not retried: another attempt cannot change the outcome)`);
  return out;
}

/** Every attempt of each step that failed at least once, with its whole error. */
function attemptErrors(run: RunDetailView): string[] {
  const lines: string[] = [];
  for (const s of run.steps) {
    const attempts = [...(s.attempts ?? [])];
    if (s.error && !attempts.some((a) => a.attempt === s.attempt)) {
      attempts.push({ attempt: s.attempt, finishedAt: s.finishedAt, retryAt: s.nextAttemptAt, error: s.error });
    }
    if (attempts.length === 0) continue;
    lines.push(`${s.id} on ${s.node}, now ${s.state}:`);
    for (const a of attempts) {
      const retried = a.retryAt ? `, retry due ${a.retryAt}` : '';
      lines.push(`  attempt ${a.attempt}/${s.maxAttempts} failed at ${a.finishedAt ?? '-'}${retried}:`);
      lines.push(...describeStepError(a.error, '    '));
    }
  }
  return lines;
}

/** `kubeha describe run ID`: every step with its node, state, attempt, timings; every attempt's whole error; the wall time per phase. */
export async function describeRunCommand(
  api: ApiClient,
  runId: string,
  out: (text: string) => void,
  format: OutputFormat,
): Promise<number> {
  const run = await api.request<RunDetailView>('GET', `/v1/runs/${encodeURIComponent(runId)}`);
  if (isStructured(format)) {
    out(formatStructured(format, run));
    return run.state === 'failed' ? 1 : 0;
  }
  const wide = format === 'wide';
  out(`Run:       ${run.id}`);
  out(`Cluster:   ${run.cluster}`);
  out(`Kind:      ${run.kind}`);
  out(`State:     ${run.state}${run.error ? ` (${run.error})` : ''}`);
  out(`Started:   ${run.createdAt}`);
  out(`Finished:  ${run.finishedAt ?? '-'}`);
  out('');
  out(
    renderTable(
      [
        'STEP',
        'NODE',
        'STATE',
        'ATTEMPT',
        'STARTED',
        'TOOK',
        'ERROR',
        ...(wide ? ['KIND', 'CHANGED', 'DEPENDS ON'] : []),
      ],
      run.steps.map((s) => [
        s.id,
        s.node,
        s.state,
        `${s.attempt}/${s.maxAttempts}`,
        s.dispatchedAt ?? '-',
        took(s.startedAt ?? s.dispatchedAt, s.finishedAt),
        s.error ? `${s.error.code}: ${s.error.message.split('\n', 1)[0]}` : '',
        ...(wide ? [s.kind, s.changed ? 'yes' : 'no', s.dependsOn.join(',') || '-'] : []),
      ]),
    ),
  );
  const errors = attemptErrors(run);
  if (errors.length > 0) out(['', 'Errors, every attempt:', ...errors.map((l) => `  ${l}`)].join('\n'));
  const phases = renderPhaseSummary(phaseSummaries(run));
  if (phases.length > 0) out(['', 'Phases:', ...phases.map((l) => `  ${l}`)].join('\n'));
  return run.state === 'failed' ? 1 : 0;
}
