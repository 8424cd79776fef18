import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../../common/errors.ts';
import type { AgentGatewayServer } from '../../gateway/agent-gateway-server.ts';
import type { AgentRecord, Store } from '../../store/store.ts';
import type { ApiPlugin } from '../build-api.ts';
import { clientErrorReplies } from '../error-reply.ts';

const InterfaceReply = Type.Object({
  name: Type.String(),
  mac: Type.String(),
  addresses: Type.Array(Type.String()),
  virtual: Type.Boolean(),
});

export const AgentReply = Type.Object(
  {
    id: Type.String(),
    hostname: Type.String(),
    agentVersion: Type.String(),
    connected: Type.Boolean(),
    revoked: Type.Boolean(),
    enrolledAt: Type.String({ format: 'date-time' }),
    lastHeartbeatAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    /** When the agent's client certificate expires; null until an agent enrolled by an older release connects. */
    certificateExpiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    holdsVip: Type.Boolean(),
    health: Type.Union([
      Type.Object({
        agentOk: Type.Boolean(),
        vrrpHealthy: Type.Boolean(),
        vrrpReason: Type.String(),
        probeAgeMs: Type.Number(),
      }),
      Type.Null(),
    ]),
    facts: Type.Object({
      hostname: Type.String(),
      osId: Type.String(),
      osVersionId: Type.String(),
      osPrettyName: Type.String(),
      kernel: Type.String(),
      arch: Type.String(),
      cpuCount: Type.Integer(),
      memoryBytes: Type.Number(),
      swapBytes: Type.Number(),
      interfaces: Type.Array(InterfaceReply),
      productUuid: Type.String(),
      machineId: Type.String(),
      defaultRouteInterface: Type.String(),
      cgroupVersion: Type.Integer(),
    }),
  },
  { $id: 'Agent' },
);

export type AgentDetail = Static<typeof AgentReply>;

const IdParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,64}$' }) });

export function agentToReply(agent: AgentRecord) {
  return {
    id: agent.id,
    hostname: agent.hostname,
    agentVersion: agent.agentVersion,
    connected: agent.connected,
    revoked: agent.revokedAt !== null,
    enrolledAt: new Date(agent.enrolledAt).toISOString(),
    lastHeartbeatAt: agent.lastHeartbeatAt === null ? null : new Date(agent.lastHeartbeatAt).toISOString(),
    certificateExpiresAt: agent.certificateNotAfter == null ? null : new Date(agent.certificateNotAfter).toISOString(),
    holdsVip: agent.holdsVip,
    health: agent.health,
    facts: agent.facts,
  };
}

export function agentsRoutes(deps: {
  store: Store;
  gateway: AgentGatewayServer;
  now: () => number;
  /** Told when an agent is revoked, to drop it from caches (the scheduler's bindings and index). */
  onRevoked?: (agentId: string) => void;
}): ApiPlugin {
  const find = (id: string) => {
    const agent = deps.store.agents.get(id);
    if (!agent) throw new KubehaError(ErrorCode.notFound, `no agent ${id}`);
    return agent;
  };
  return (app) => {
    app.get(
      '/v1/agents',
      {
        schema: {
          summary: 'Enrolled agents with their facts and last heartbeat',
          response: { 200: Type.Object({ agents: Type.Array(AgentReply) }), ...clientErrorReplies },
        },
      },
      async () => ({ agents: deps.store.agents.list().map(agentToReply) }),
    );
    app.get(
      '/v1/agents/:id',
      { schema: { summary: 'One agent', params: IdParams, response: { 200: AgentReply, ...clientErrorReplies } } },
      async (request) => agentToReply(find(request.params.id)),
    );
    app.delete(
      '/v1/agents/:id',
      {
        schema: {
          summary: 'Revoke an agent: its certificate never opens a session again',
          params: IdParams,
          response: { 200: AgentReply, ...clientErrorReplies },
        },
      },
      async (request) => {
        const agent = find(request.params.id);
        if (agent.revokedAt === null) deps.store.agents.update(agent.id, { revokedAt: deps.now(), connected: false });
        deps.store.bindings.removeAgent(agent.id);
        deps.onRevoked?.(agent.id);
        deps.gateway.disconnect(agent.id, 'the agent was revoked');
        request.log.info({ agentId: agent.id }, 'agent revoked');
        return agentToReply(find(agent.id));
      },
    );
    app.post(
      '/v1/agents/:id/approve',
      {
        schema: {
          summary:
            'Approve an agent for a node: it may serve the node of that name (in any cluster) once it reports the ' +
            'node’s address, unless another agent is already bound to it',
          params: IdParams,
          body: Type.Object(
            {
              node: Type.String({
                pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$',
              }),
            },
            { additionalProperties: false },
          ),
          response: { 200: AgentReply, ...clientErrorReplies },
        },
      },
      async (request) => {
        const agent = find(request.params.id);
        if (agent.revokedAt !== null) throw new KubehaError(ErrorCode.conflict, `agent ${agent.id} is revoked`);
        deps.store.bindings.approve(agent.id, request.body.node, deps.now());
        request.log.info({ agentId: agent.id, node: request.body.node }, 'agent approved for node');
        return agentToReply(agent);
      },
    );
  };
}
