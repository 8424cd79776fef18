import type { ApiClient } from '../api-client.ts';
import type { RunDetailView } from '../run-progress.ts';
import { renderTable } from '../table.ts';

function took(from: string | null, to: string | null): string {
  if (!from || !to) return '-';
  return `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)}s`;
}

/** Every step of a run with its node, state, attempt, timings and error. */
export async function describeRunCommand(
  api: ApiClient,
  runId: string,
  out: (text: string) => void,
  json: boolean,
): Promise<number> {
  const run = await api.request<RunDetailView>('GET', `/v1/runs/${encodeURIComponent(runId)}`);
  if (json) {
    out(JSON.stringify(run, null, 2));
    return 0;
  }
  out(`Run:       ${run.id}`);
  out(`Cluster:   ${run.cluster}`);
  out(`Kind:      ${run.kind}`);
  out(`State:     ${run.state}${run.error ? ` (${run.error})` : ''}`);
  out(`Started:   ${run.createdAt}`);
  out(`Finished:  ${run.finishedAt ?? '-'}`);
  out('');
  out(
    renderTable(
      ['STEP', 'NODE', 'STATE', 'ATTEMPT', 'STARTED', 'TOOK', 'ERROR'],
      run.steps.map((s) => [
        s.id,
        s.node,
        s.state,
        `${s.attempt}/${s.maxAttempts}`,
        s.dispatchedAt ?? '-',
        took(s.dispatchedAt, s.finishedAt),
        s.error ? `${s.error.code}: ${s.error.message}` : '',
      ]),
    ),
  );
  return run.state === 'failed' ? 1 : 0;
}
