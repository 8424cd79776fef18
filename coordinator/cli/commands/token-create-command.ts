import type { CreatedToken } from '../../api/routes/tokens-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { inFlagTerms } from '../flag-values.ts';
import { formatStructured, isStructured, type OutputFormat } from '../output-format.ts';

/** The request fields the command fills from its flags: a refusal of a field names the flag. */
const flagOfField = { ttlSeconds: '--ttl', usageLimit: '--usage-limit', description: '--description', node: '--node' };

export async function tokenCreateCommand(
  api: ApiClient,
  out: (text: string) => void,
  options: {
    ttlSeconds?: number | undefined;
    usageLimit?: number | undefined;
    description?: string | undefined;
    node?: string | undefined;
    format?: OutputFormat;
    /** The API URL this CLI used, for the workstation hint. */
    server?: string;
  },
): Promise<number> {
  let created: CreatedToken;
  try {
    created = await api.request<CreatedToken>('POST', '/v1/tokens', {
      ...(options.ttlSeconds !== undefined ? { ttlSeconds: options.ttlSeconds } : {}),
      ...(options.usageLimit !== undefined ? { usageLimit: options.usageLimit } : {}),
      ...(options.description !== undefined ? { description: options.description } : {}),
      ...(options.node !== undefined ? { node: options.node } : {}),
    });
  } catch (error) {
    throw inFlagTerms(error, flagOfField);
  }
  const format = options.format ?? 'table';
  if (isStructured(format)) {
    out(formatStructured(format, created));
    return 0;
  }
  out(
    `Bootstrap token ${created.id} (usable ${created.usageLimit}×, until ${created.expiresAt}).\n` +
      (options.node
        ? `Run this on node ${options.node} as root to enroll it; the agent will serve ${options.node}:\n\n`
        : 'Run this on each node as root to enroll it, then bind each agent to its node ' +
          '(kubeha agents approve AGENT --node NODE):\n\n') +
      `  ${created.enrollCommand}\n\n` +
      'To run kubeha from a workstation, serve the API on a reachable address (coordinator.yaml: api.listen, ' +
      'api.serverSans; it is then HTTPS) and write ~/.kube/kubeha.yaml there:\n\n' +
      `  server: ${options.server?.startsWith('https://') ? options.server : 'https://COORDINATOR:7444'}\n` +
      `  caCertHash: ${created.caCertHash}\n` +
      '  tokenFile: ~/.kube/kubeha-token   # a 0600 copy of /var/lib/kubeha-coordinator/admin-token\n',
  );
  return 0;
}
