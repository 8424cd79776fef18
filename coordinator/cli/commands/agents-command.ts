import type { AgentDetail } from '../../api/routes/agents-routes.ts';
import type { ApiClient } from '../api-client.ts';
import { formatStructured, isStructured, type OutputFormat, printList } from '../output-format.ts';
import { ago, gibibytes } from '../table.ts';
import { healthVerdict } from './get-command.ts';

type AgentView = AgentDetail;

export async function agentsCommand(
  api: ApiClient,
  out: (text: string) => void,
  now: number,
  format: OutputFormat = 'table',
): Promise<number> {
  const { agents } = await api.request<{ agents: AgentView[] }>('GET', '/v1/agents');
  return printList(out, format, agents, {
    header: (wide) => [
      'ID',
      'HOSTNAME',
      'STATE',
      'HEARTBEAT',
      'OS',
      'CPUS',
      'MEMORY',
      'ADDRESSES',
      'VIP',
      'CERT LEFT',
      ...(wide ? ['HEALTH', 'VERSION', 'KERNEL', 'ENROLLED'] : []),
    ],
    row: (a, wide) => [
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
      ...(wide ? [healthVerdict(a), a.agentVersion, a.facts.kernel, a.enrolledAt] : []),
    ],
  });
}

/** `kubeha agents revoke AGENT`: its certificate never opens a session again; the node it served needs a new one. */
export async function revokeAgentCommand(
  api: ApiClient,
  agentId: string,
  out: (text: string) => void,
  format: OutputFormat,
): Promise<number> {
  const agent = await api.request<AgentView>('DELETE', `/v1/agents/${encodeURIComponent(agentId)}`);
  if (isStructured(format)) out(formatStructured(format, agent));
  else out(`agent ${agent.id} (${agent.hostname}) revoked: its certificate opens no session any more`);
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
