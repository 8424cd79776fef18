import type { AgentDetail } from '../../api/routes/agents-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { ago, gibibytes, renderTable } from '../table.ts';

type AgentView = AgentDetail;

export async function agentsCommand(
  api: ApiClient,
  out: (text: string) => void,
  now: number,
  json = false,
): Promise<number> {
  const { agents } = await api.request<{ agents: AgentView[] }>('GET', '/v1/agents');
  if (json) {
    out(JSON.stringify(agents, null, 2));
    return 0;
  }
  const rows = agents.map((a) => [
    a.id,
    a.hostname,
    a.revoked ? 'revoked' : a.connected ? 'connected' : 'offline',
    ago(a.lastHeartbeatAt, now),
    a.facts.osPrettyName,
    String(a.facts.cpuCount),
    gibibytes(a.facts.memoryBytes),
    a.facts.interfaces.flatMap((i) => i.addresses.filter((x) => x.includes('.'))).join(',') || '-',
    a.holdsVip ? 'yes' : '',
    certificateLeft(a.certificateExpiresAt, now),
  ]);
  out(
    renderTable(
      ['ID', 'HOSTNAME', 'STATE', 'HEARTBEAT', 'OS', 'CPUS', 'MEMORY', 'ADDRESSES', 'VIP', 'CERT LEFT'],
      rows,
    ),
  );
  return 0;
}

/** Days left on the agent's client certificate ("-" when unknown, "expired" when past). */
function certificateLeft(expiresAt: string | null, now: number): string {
  if (!expiresAt) return '-';
  const left = Date.parse(expiresAt) - now;
  if (left <= 0) return 'expired';
  const hours = left / 3_600_000;
  return hours < 48 ? `${Math.floor(hours)}h` : `${Math.floor(hours / 24)}d`;
}
