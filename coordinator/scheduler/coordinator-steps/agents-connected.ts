import { ErrorCode } from '../../../common/errors.ts';
import type { CoordinatorStepDefinition } from './coordinator-step.ts';

/** One node's agent as the verify run found it. */
export interface NodeAgentCheck {
  node: string;
  address: string;
  role: string;
  /** "offline": enrolled and bound, but without a session; "no agent": none serves the node (never enrolled, revoked). */
  state: 'connected' | 'offline' | 'no agent';
  agentId: string | null;
  hostname: string | null;
  /** ISO time; null when the agent never sent one or there is no agent. */
  lastHeartbeatAt: string | null;
}

/** The step's `report` output (JSON), served as the step's report by the REST API. */
export interface AgentsConnectedReport {
  ok: boolean;
  nodes: NodeAgentCheck[];
}

export function agentProblem(check: NodeAgentCheck): string {
  const where = `node ${check.node} (${check.address})`;
  if (check.state === 'no agent') {
    return (
      `${where}: no agent serves it (enroll one with a token scoped to it, kubeha token create --node ${check.node}, ` +
      `or approve one, kubeha agents approve AGENT --node ${check.node})`
    );
  }
  return (
    `${where}: its agent ${check.agentId} (${check.hostname}) is not connected, ` +
    `last heartbeat ${check.lastHeartbeatAt ?? 'never'}`
  );
}

/**
 * Every node of the cluster must have its agent connected: a node whose agent is gone may still look healthy to
 * Kubernetes, but kubeha can no longer change, repair or reset it, so the cluster is not green.
 */
export const agentsConnectedStep: CoordinatorStepDefinition = {
  kind: 'agents-connected',
  mode: 'check',
  run({ spec, step, agentOf }) {
    const asked = step.params['nodes'] as string[] | undefined;
    const nodes = asked ? spec.spec.nodes.filter((n) => asked.includes(n.name)) : spec.spec.nodes;
    const checks: NodeAgentCheck[] = nodes.map((node) => {
      const agent = agentOf(node.name);
      return {
        node: node.name,
        address: node.address,
        role: node.role,
        state: !agent ? 'no agent' : agent.connected ? 'connected' : 'offline',
        agentId: agent?.id ?? null,
        hostname: agent?.hostname ?? null,
        lastHeartbeatAt: agent?.lastHeartbeatAt ? new Date(agent.lastHeartbeatAt).toISOString() : null,
      };
    });
    const problems = checks.filter((c) => c.state !== 'connected').map(agentProblem);
    const report: AgentsConnectedReport = { ok: problems.length === 0, nodes: checks };
    return {
      log: [`${checks.length - problems.length}/${checks.length} nodes have their agent connected`],
      changed: false,
      outputs: { report: JSON.stringify(report) },
      ...(problems.length > 0 ? { failure: { code: ErrorCode.unavailable, message: problems.join('; ') } } : {}),
    };
  },
};
