import type { FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../../common/errors.ts';
import { formatHostPort } from '../../../common/format-host-port.ts';
import type { ClusterSpec } from '../../cluster-spec/cluster-spec.ts';
import { ClusterSpecDocumentSchema } from '../../cluster-spec/cluster-spec-document.ts';
import { parseClusterSpec } from '../../cluster-spec/parse-cluster-spec.ts';
import type { RunKind } from '../../plan/run-plan.ts';
import { specDifferences, unsupportedChanges } from '../../plan/spec-changes.ts';
import { AgentsByAddress } from '../../scheduler/agent-for-node.ts';
import { clusterMembers, otherClusterClaims } from '../../scheduler/cluster-state.ts';
import { valueNames } from '../../scheduler/cluster-values.ts';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import type { ClusterRecord, Store } from '../../store/store.ts';
import type { ApiPlugin } from '../build-api.ts';
import { clientErrorReplies, ErrorReply } from '../error-reply.ts';
import { RunReply, runToReply } from './runs-routes.ts';

const NodeReply = Type.Object({
  name: Type.String(),
  address: Type.String(),
  role: Type.String(),
  agentId: Type.Union([Type.String(), Type.Null()]),
  hostname: Type.Union([Type.String(), Type.Null()]),
  connected: Type.Boolean(),
  holdsVip: Type.Boolean({ description: 'reported by the agent itself in its heartbeats, not observed' }),
  bound: Type.Boolean({ description: 'true when the agent is bound to the node; false: only proposed by its address' }),
});

const ClusterReply = Type.Object(
  {
    name: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    initialized: Type.Boolean(),
    endpoint: Type.String(),
    nodes: Type.Array(NodeReply),
    lastRun: Type.Union([RunReply, Type.Null()]),
    spec: Type.Record(Type.String(), Type.Unknown(), {
      description: 'The desired spec (the last one applied), validated, with every default filled in',
    }),
    appliedSpec: Type.Union([
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'The spec of the last deploy that succeeded; verify, drill-failover, reset and certs-renew act on it',
      }),
      Type.Null(),
    ]),
    appliedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    differences: Type.Array(
      Type.Object({
        path: Type.String(),
        applied: Type.Optional(Type.Unknown()),
        desired: Type.Optional(Type.Unknown()),
      }),
      {
        description: 'Fields where the desired spec differs from the applied one (nodes keyed by name)',
      },
    ),
  },
  { $id: 'Cluster' },
);

/** A cluster as GET /v1/clusters and GET /v1/clusters/:name reply. */
export type ClusterDetail = Static<typeof ClusterReply>;

const NameParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' }) });
const StartRunBody = Type.Object(
  {
    kind: Type.Union([
      Type.Literal('deploy'),
      Type.Literal('plan'),
      Type.Literal('verify'),
      Type.Literal('drill-failover'),
      Type.Literal('reset'),
      Type.Literal('certs-renew'),
      Type.Literal('etcd-snapshot'),
      Type.Literal('etcd-restore'),
      Type.Literal('load-balancer-reconcile'),
    ]),
    snapshot: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
        description: 'etcd-restore only: the id of the snapshot to restore (GET /v1/clusters/NAME/etcd-snapshots)',
      }),
    ),
    force: Type.Optional(
      Type.Boolean({
        description:
          'etcd-restore only: restore even though etcd has quorum (every change since the snapshot is rolled back)',
      }),
    ),
    waitForAgents: Type.Optional(
      Type.Boolean({
        description:
          "Start even when a node has no enrolled agent yet; its steps wait for one (an event says so) and fail after the coordinator's wait",
      }),
    ),
    deadNodes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
        maxItems: 1000,
        description:
          'deploy only: nodes of the applied spec whose machines are gone. Nothing is run on them; each is removed (cordoned, its etcd member removed, its Node deleted) and, when the spec still names it, joins again as the new machine at its address',
      }),
    ),
  },
  { additionalProperties: false },
);

const Difference = Type.Object({
  path: Type.String(),
  applied: Type.Optional(Type.Unknown()),
  desired: Type.Optional(Type.Unknown()),
});

const NodeChanges = Type.Object({
  added: Type.Array(Type.String(), { description: 'Nodes the spec has that the applied spec does not: they join' }),
  removed: Type.Array(Type.String(), {
    description: 'Nodes of the applied spec that the spec no longer has: drained, deleted and reset (docs/nodes.md)',
  }),
});

const NodeRemovalQuery = Type.Object(
  {
    dead: Type.Optional(
      Type.Union([Type.Literal('true'), Type.Literal('false')], {
        description: 'true: the node is gone for good; nothing is run on it, its Node is only cordoned',
      }),
    ),
    waitForAgents: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  },
  { additionalProperties: false },
);

const PlanReply = Type.Object({
  run: RunReply,
  nodes: NodeChanges,
  newCluster: Type.Boolean({ description: 'true when the coordinator has no cluster of this name yet' }),
  differences: Type.Array(Difference, {
    description: 'Fields where the planned spec differs from the applied one (empty for a cluster never deployed)',
  }),
  refusals: Type.Array(Type.String(), {
    description: 'Why a deploy of this spec would be refused (409); the plan runs all the same',
  }),
});

export function clustersRoutes(deps: { store: Store; scheduler: Scheduler; now: () => number }): ApiPlugin {
  const find = (name: string) => {
    const cluster = deps.store.clusters.get(name);
    if (!cluster) throw new KubehaError(ErrorCode.notFound, `no cluster ${name}`);
    return cluster;
  };
  const toReply = (cluster: ClusterRecord) => {
    const index = new AgentsByAddress(deps.store.agents.list());
    const runs = deps.store.runs.list(cluster.name);
    const last = runs[runs.length - 1];
    const { endpoint } = cluster.spec.spec;
    return {
      name: cluster.name,
      createdAt: new Date(cluster.createdAt).toISOString(),
      updatedAt: new Date(cluster.updatedAt).toISOString(),
      initialized: cluster.initializedAt !== null,
      endpoint: formatHostPort(endpoint.vip, endpoint.port),
      nodes: cluster.spec.spec.nodes.map((n) => {
        // The bound agent serves the node; before a binding, the agent reporting its address is only a proposal.
        const boundId = deps.store.bindings.bound(cluster.name, n.name);
        const agent = boundId === undefined ? index.get(n.address) : deps.store.agents.get(boundId);
        return {
          name: n.name,
          address: n.address,
          role: n.role,
          agentId: agent?.id ?? null,
          hostname: agent?.hostname ?? null,
          connected: agent?.connected ?? false,
          holdsVip: agent?.holdsVip ?? false,
          bound: boundId !== undefined,
        };
      }),
      lastRun: last ? runToReply(last) : null,
      spec: cluster.spec as unknown as Record<string, unknown>,
      appliedSpec: cluster.appliedSpec as unknown as Record<string, unknown> | null,
      appliedAt: cluster.appliedAt === null ? null : new Date(cluster.appliedAt).toISOString(),
      differences: cluster.appliedSpec ? specDifferences(cluster.appliedSpec, cluster.spec) : [],
    };
  };
  /**
   * The body's schema is published for clients, but the spec parser judges the body: it names every problem with its
   * path in the operator's words, and checks what a schema cannot (subnets, the VIP, control-plane counts). So the
   * cluster routes attach fastify's validation instead of answering with it, and answer only its params errors.
   */
  const validSpec = (request: FastifyRequest) => {
    if (request.validationError && request.validationError.validationContext !== 'body') throw request.validationError;
    const parsed = parseClusterSpec(request.body);
    if (!parsed.ok) {
      throw new KubehaError(ErrorCode.specInvalid, `the cluster spec has ${parsed.problems.length} problem(s)`, {
        details: parsed.problems,
      });
    }
    const claims = otherClusterClaims(parsed.spec, deps.store.clusters.list(), deps.store.agents.list());
    if (claims.length > 0) {
      throw new KubehaError(
        ErrorCode.conflict,
        `a node can be in one cluster only: ${claims.map((c) => `${c.claimedAs} is node ${c.node} (${c.address}) of cluster ${c.cluster}`).join('; ')}`,
        { details: claims },
      );
    }
    return parsed.spec;
  };
  /** A valid spec whose metadata.name is the cluster named in the URL. */
  const validSpecNamed = (request: FastifyRequest, urlName: string) => {
    const spec = validSpec(request);
    if (spec.metadata.name !== urlName) {
      throw new KubehaError(
        ErrorCode.badRequest,
        `metadata.name "${spec.metadata.name}" does not match the URL's "${urlName}"`,
      );
    }
    return spec;
  };
  const refuseWhileRunning = (name: string, what: string) => {
    const running = deps.store.runs.unfinished().find((r) => r.cluster === name);
    if (running) {
      throw new KubehaError(
        ErrorCode.conflict,
        `cannot ${what} cluster ${name} while run ${running.id} is in progress`,
      );
    }
  };

  return (app) => {
    app.post(
      '/v1/clusters',
      {
        schema: {
          summary: 'Create a cluster from its spec (400 lists every problem of the spec)',
          body: ClusterSpecDocumentSchema,
          response: { 201: ClusterReply, 409: ErrorReply, ...clientErrorReplies },
        },
        attachValidation: true,
      },
      async (request, reply) => {
        const spec = validSpec(request);
        if (deps.store.clusters.get(spec.metadata.name)) {
          throw new KubehaError(
            ErrorCode.conflict,
            `cluster ${spec.metadata.name} exists; PUT /v1/clusters/${spec.metadata.name} replaces it`,
          );
        }
        const record = newClusterRecord(spec, deps.now());
        deps.store.clusters.put(record);
        request.log.info({ cluster: record.name }, 'cluster created');
        return reply.code(201).send(toReply(record));
      },
    );
    app.get(
      '/v1/clusters',
      {
        schema: {
          summary: 'Clusters with their nodes and last run',
          response: { 200: Type.Object({ clusters: Type.Array(ClusterReply) }), ...clientErrorReplies },
        },
      },
      async () => ({ clusters: deps.store.clusters.list().map(toReply) }),
    );
    app.get(
      '/v1/clusters/:name',
      {
        schema: { summary: 'One cluster', params: NameParams, response: { 200: ClusterReply, ...clientErrorReplies } },
      },
      async (request) => toReply(find(request.params.name)),
    );
    app.put(
      '/v1/clusters/:name',
      {
        schema: {
          summary: 'Create or replace a cluster spec (takes effect for the next run)',
          params: NameParams,
          body: ClusterSpecDocumentSchema,
          response: { 200: ClusterReply, 201: ClusterReply, 409: ErrorReply, ...clientErrorReplies },
        },
        attachValidation: true,
      },
      async (request, reply) => {
        const spec = validSpecNamed(request, request.params.name);
        refuseWhileRunning(spec.metadata.name, 'replace');
        const existing = deps.store.clusters.get(spec.metadata.name);
        const now = deps.now();
        const record: ClusterRecord = existing ? { ...existing, spec, updatedAt: now } : newClusterRecord(spec, now);
        deps.store.clusters.put(record);
        request.log.info({ cluster: record.name, replaced: existing !== undefined }, 'cluster spec stored');
        return reply.code(existing ? 200 : 201).send(toReply(record));
      },
    );
    app.delete(
      '/v1/clusters/:name',
      {
        schema: {
          summary: 'Forget a cluster and its runs (the nodes are left as they are; run reset first to undo them)',
          params: NameParams,
          response: { 204: Type.Null(), 409: ErrorReply, ...clientErrorReplies },
        },
      },
      async (request, reply) => {
        find(request.params.name);
        refuseWhileRunning(request.params.name, 'delete');
        deps.store.clusters.delete(request.params.name);
        request.log.info({ cluster: request.params.name }, 'cluster deleted');
        return reply.code(204).send(null);
      },
    );
    app.post(
      '/v1/clusters/:name/runs',
      {
        schema: {
          summary: 'Start a run: deploy, verify, drill-failover, reset, certs-renew, etcd-snapshot or etcd-restore',
          params: NameParams,
          body: StartRunBody,
          response: { 201: RunReply, 409: ErrorReply, ...clientErrorReplies },
        },
      },
      async (request, reply) => {
        find(request.params.name);
        const run = deps.scheduler.startRun(request.params.name, request.body.kind as RunKind, {
          waitForAgents: request.body.waitForAgents === true,
          ...(request.body.deadNodes ? { dead: request.body.deadNodes } : {}),
          ...(request.body.snapshot ? { snapshot: request.body.snapshot } : {}),
          ...(request.body.force === true ? { force: true } : {}),
        });
        return reply.code(201).send(runToReply(run));
      },
    );
    app.post(
      '/v1/clusters/:name/plan',
      {
        schema: {
          summary:
            'Plan a spec without applying it: validate (400 lists every problem), then a plan run (preflight, cross-node checks, every step as a dry run); the stored spec is not replaced',
          params: NameParams,
          body: ClusterSpecDocumentSchema,
          querystring: Type.Object({ waitForAgents: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
          response: { 201: PlanReply, 409: ErrorReply, ...clientErrorReplies },
        },
        attachValidation: true,
      },
      async (request, reply) => {
        const spec = validSpecNamed(request, request.params.name);
        const cluster = deps.store.clusters.get(spec.metadata.name);
        const run = deps.scheduler.startRun(spec.metadata.name, 'plan', {
          planSpec: spec,
          waitForAgents: request.query.waitForAgents === true,
        });
        return reply.code(201).send({
          run: runToReply(run),
          newCluster: cluster === undefined,
          differences: cluster?.appliedSpec ? specDifferences(cluster.appliedSpec, spec) : [],
          refusals: cluster ? unsupportedChanges(cluster.appliedSpec, spec, clusterMembers(deps.store, cluster)) : [],
          nodes: nodeChanges(cluster?.appliedSpec ?? null, spec),
        });
      },
    );
    app.delete(
      '/v1/clusters/:name/nodes/:node',
      {
        schema: {
          summary:
            'Remove a node: the applied spec without it becomes the desired spec and a deploy run of it starts (202), which drains, deletes and resets the node (docs/nodes.md); 409 with the reason when the removal is refused',
          params: Type.Object({
            name: NameParams.properties.name,
            node: Type.String({ minLength: 1, maxLength: 253 }),
          }),
          querystring: NodeRemovalQuery,
          response: { 202: RunReply, 409: ErrorReply, ...clientErrorReplies },
        },
      },
      async (request, reply) => {
        const { name, node } = request.params;
        const cluster = find(name);
        refuseWhileRunning(name, 'remove a node of');
        const applied = cluster.appliedSpec;
        if (!applied) {
          throw new KubehaError(
            ErrorCode.conflict,
            `cluster ${name} has no successful deploy yet: there is no node to remove (change the spec and apply it)`,
          );
        }
        if (!applied.spec.nodes.some((n) => n.name === node)) {
          throw new KubehaError(ErrorCode.notFound, `cluster ${name} has no node ${node} in its applied spec`);
        }
        const spec = withoutNode(applied, node);
        const previous = cluster;
        deps.store.clusters.put({ ...cluster, spec, updatedAt: deps.now() });
        try {
          const run = deps.scheduler.startRun(name, 'deploy', {
            dead: request.query.dead === 'true' ? [node] : [],
            waitForAgents: request.query.waitForAgents === 'true',
          });
          request.log.info({ cluster: name, node, dead: request.query.dead === 'true', runId: run.id }, 'node removal');
          return reply.code(202).send(runToReply(run));
        } catch (error) {
          // Refused: the desired spec stays what the operator last applied.
          deps.store.clusters.put(previous);
          throw error;
        }
      },
    );
    app.get(
      '/v1/clusters/:name/kubeconfig',
      {
        schema: {
          summary:
            'The admin kubeconfig reported by the last kubeadm-init or certs-renew step, when the agent reported one',
          params: NameParams,
          response: { 200: Type.Object({ kubeconfig: Type.String() }), ...clientErrorReplies },
        },
      },
      async (request) => {
        find(request.params.name);
        const value = deps.store.clusterValues.get(request.params.name, valueNames.kubeconfig);
        if (!value) {
          throw new KubehaError(
            ErrorCode.notFound,
            `no kubeconfig for ${request.params.name} yet: it comes with a successful deploy or verify run`,
          );
        }
        return { kubeconfig: value.value };
      },
    );
  };
}

/** Nodes a deploy of `desired` adds and removes, by name, against the last successful deploy. */
function nodeChanges(applied: ClusterSpec | null, desired: ClusterSpec): { added: string[]; removed: string[] } {
  if (!applied) return { added: [], removed: [] };
  const before = new Set(applied.spec.nodes.map((n) => n.name));
  const after = new Set(desired.spec.nodes.map((n) => n.name));
  return {
    added: [...after].filter((n) => !before.has(n)),
    removed: [...before].filter((n) => !after.has(n)),
  };
}

/**
 * The spec without the node. Two control planes (or another even count) are accepted for the time between a removal
 * and the replacement's join: refusing them would make a dead control plane of three impossible to remove.
 */
function withoutNode(spec: ClusterSpec, node: string): ClusterSpec {
  const nodes = spec.spec.nodes.filter((n) => n.name !== node);
  const controlPlanes = nodes.filter((n) => n.role === 'control-plane').length;
  return {
    ...spec,
    spec: {
      ...spec.spec,
      nodes,
      allowEvenControlPlanes: spec.spec.allowEvenControlPlanes || controlPlanes % 2 === 0,
    },
  };
}

/** A cluster that has never been deployed: no init, nothing applied yet. */
function newClusterRecord(spec: ClusterRecord['spec'], now: ClusterRecord['createdAt']): ClusterRecord {
  return {
    name: spec.metadata.name,
    spec,
    createdAt: now,
    updatedAt: now,
    initializedAt: null,
    appliedSpec: null,
    appliedAt: null,
  };
}
