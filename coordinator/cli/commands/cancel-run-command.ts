import type { RunSummary } from '../../api/routes/runs-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { formatStructured, isStructured, type OutputFormat } from '../output-format.ts';

/** `kubeha run cancel RUN`: no new step starts and the running ones are told to stop. */
export async function cancelRunCommand(
  api: ApiClient,
  runId: string,
  out: (text: string) => void,
  format: OutputFormat,
): Promise<number> {
  const run = await api.request<RunSummary>('POST', `/v1/runs/${encodeURIComponent(runId)}/cancel`);
  if (isStructured(format)) out(formatStructured(format, run));
  else {
    out(
      run.state === 'cancelled'
        ? `run ${run.id} cancelled: no new step starts, running steps are told to stop (kubeha watch ${run.id} follows them)`
        : `run ${run.id} had already ended: ${run.state}`,
    );
  }
  return 0;
}
