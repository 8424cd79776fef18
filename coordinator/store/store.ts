import type { NodeFacts } from '../../proto/convert.ts';
import type { StoredBootstrapToken } from '../pki/bootstrap-tokens.ts';

export interface AgentHealth {
  agentOk: boolean;
  vrrpHealthy: boolean;
  vrrpReason: string;
  probeAgeMs: number;
}

export interface AgentRecord {
  id: string;
  hostname: string;
  agentVersion: string;
  facts: NodeFacts;
  certificateSerial: string;
  enrolledAt: number;
  enrolledWithTokenId: string;
  revokedAt: number | null;
  connected: boolean;
  lastHeartbeatAt: number | null;
  holdsVip: boolean;
  health: AgentHealth | null;
}

export type AgentUpdate = Partial<
  Pick<
    AgentRecord,
    'hostname' | 'agentVersion' | 'facts' | 'connected' | 'lastHeartbeatAt' | 'holdsVip' | 'health' | 'revokedAt'
  >
>;

export interface AgentStore {
  get(id: string): AgentRecord | undefined;
  list(): AgentRecord[];
  update(id: string, update: AgentUpdate): void;
  markAllDisconnected(): void;
}

export interface TokenStore {
  insert(token: StoredBootstrapToken): void;
  get(id: string): StoredBootstrapToken | undefined;
  list(): StoredBootstrapToken[];
  delete(id: string): boolean;
}

export interface EnrollmentRecord {
  tokenId: string;
  tokenSecret: string;
  now: number;
  agent: Omit<AgentRecord, 'enrolledWithTokenId'>;
}

/** Persistence for the coordinator. Nothing outside store/ touches SQL. */
export interface Store {
  readonly agents: AgentStore;
  readonly tokens: TokenStore;
  /** Checks and uses the token and records the agent in one transaction; throws a KubehaError when the token is unusable. */
  enrollAgent(record: EnrollmentRecord): AgentRecord;
  close(): void;
}
