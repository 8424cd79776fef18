import { readFileSync } from 'node:fs';
import type { Logger } from '../common/logger.ts';
import type { NodeFacts } from '../proto/convert.ts';
import type { AgentConfig } from './config.ts';
import { AgentSession, type SessionHooks } from './session/agent-session.ts';

export interface RunningAgent {
  session: AgentSession;
  stop(): Promise<void>;
}

/** Wires the agent's parts for `kubeha-agent run`. */
export function startAgent(
  config: Readonly<AgentConfig>,
  deps: { logger: Logger; version: string; facts: () => Promise<NodeFacts>; hooks?: Partial<SessionHooks> },
): RunningAgent {
  const session = new AgentSession({
    agentId: config.agentId,
    agentVersion: deps.version,
    coordinator: config.coordinator,
    caPem: readFileSync(config.tls.caFile),
    certPem: readFileSync(config.tls.certFile),
    keyPem: readFileSync(config.tls.keyFile),
    heartbeatIntervalMs: config.heartbeatIntervalSeconds * 1000,
    reconnectMinMs: config.reconnect.minSeconds * 1000,
    reconnectMaxMs: config.reconnect.maxSeconds * 1000,
    logger: deps.logger.child({ component: 'session' }),
    hooks: { ...deps.hooks, facts: deps.facts },
  });
  session.start();
  return {
    session,
    async stop() {
      await session.stop();
    },
  };
}
