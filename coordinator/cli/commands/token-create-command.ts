import type { ApiClient } from '../api-client.ts';

interface CreatedToken {
  id: string;
  token: string;
  expiresAt: string;
  usageLimit: number;
  caCertHash: string;
  enrollCommand: string;
}

export async function tokenCreateCommand(
  api: ApiClient,
  out: (text: string) => void,
  options: { ttlSeconds?: number; usageLimit?: number; description?: string; json?: boolean },
): Promise<number> {
  const created = await api.request<CreatedToken>('POST', '/v1/tokens', {
    ...(options.ttlSeconds ? { ttlSeconds: options.ttlSeconds } : {}),
    ...(options.usageLimit ? { usageLimit: options.usageLimit } : {}),
    ...(options.description ? { description: options.description } : {}),
  });
  if (options.json) {
    out(JSON.stringify(created, null, 2));
    return 0;
  }
  out(
    `Bootstrap token ${created.id} (usable ${created.usageLimit}×, until ${created.expiresAt}).\n` +
      'Run this on each node as root to enroll it:\n\n' +
      `  ${created.enrollCommand}\n`,
  );
  return 0;
}
