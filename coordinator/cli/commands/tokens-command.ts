import type { ApiClient } from '../api-client.ts';
import { type OutputFormat, printList } from '../output-format.ts';

interface TokenView {
  id: string;
  description: string;
  createdAt: string;
  expiresAt: string;
  usageLimit: number;
  usedCount: number;
  expired: boolean;
  node?: string;
}

/** `kubeha token list`: the bootstrap tokens, without their secrets. */
export async function tokenListCommand(
  api: ApiClient,
  out: (text: string) => void,
  format: OutputFormat,
): Promise<number> {
  const { tokens } = await api.request<{ tokens: TokenView[] }>('GET', '/v1/tokens');
  return printList(out, format, tokens, {
    header: (wide) => ['ID', 'NODE', 'USES', 'EXPIRES', 'STATE', 'DESCRIPTION', ...(wide ? ['CREATED'] : [])],
    row: (t, wide) => [
      t.id,
      t.node ?? '-',
      `${t.usedCount}/${t.usageLimit}`,
      t.expiresAt,
      t.expired ? 'expired' : t.usedCount >= t.usageLimit ? 'used up' : 'usable',
      t.description || '-',
      ...(wide ? [t.createdAt] : []),
    ],
  });
}

/** `kubeha token delete ID`: the token enrolls no agent any more (agents already enrolled with it keep working). */
export async function tokenDeleteCommand(api: ApiClient, id: string, out: (text: string) => void): Promise<number> {
  await api.request('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
  out(`bootstrap token ${id} deleted`);
  return 0;
}
