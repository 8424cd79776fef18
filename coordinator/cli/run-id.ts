import type { RunSummary } from '../api/routes/runs-routes.ts';
import type { ApiClient } from './api-client.ts';
import { CliUsageError } from './cli-usage-error.ts';

const fullRunId = /^run-[0-9a-f-]{36}$/;

/**
 * The run an operator means: a whole ID as it is, or a unique prefix of one ("run-3f2a", "3f2a"), like a git
 * commit. A prefix that fits no run, or more than one, is refused with the candidates.
 */
export async function resolveRunId(api: ApiClient, given: string | undefined, command: string): Promise<string> {
  if (given === undefined || given === '') {
    throw new CliUsageError(`${command} needs a run ID (or a unique prefix of one): kubeha get runs lists them`);
  }
  if (fullRunId.test(given)) return given;
  const prefix = given.startsWith('run-') ? given : `run-${given}`;
  const { runs } = await api.request<{ runs: RunSummary[] }>('GET', '/v1/runs');
  const matches = runs.filter((r) => r.id.startsWith(prefix));
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) throw new RunNotFound(`no run ${given} (kubeha get runs lists them)`);
  throw new CliUsageError(
    `run ID ${given} is ambiguous: ${matches
      .slice(0, 5)
      .map((r) => `${r.id} (${r.kind} of ${r.cluster})`)
      .join(', ')}${matches.length > 5 ? `, and ${matches.length - 5} more` : ''}`,
  );
}

/** No run fits the ID: exit code 1, as a 404 from the API is. */
export class RunNotFound extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunNotFound';
  }
}
