import type { Logger } from '../../common/logger.ts';
import type { ClusterNodeSpec, ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { AgentRecord, Store } from '../store/store.ts';
import type { ActiveRuns } from './active-run.ts';
import { AgentsByAddress, resolveNodeAgent } from './agent-for-node.ts';
import type { RunJournal } from './run-journal.ts';

/** Each spec's nodes by name: a wave of a thousand steps looks its nodes up a thousand times. */
const nodesByName = new WeakMap<readonly ClusterNodeSpec[], Map<string, ClusterNodeSpec>>();

function nodeNamed(nodes: readonly ClusterNodeSpec[], name: string): ClusterNodeSpec | undefined {
  let byName = nodesByName.get(nodes);
  if (!byName) {
    byName = new Map();
    // The first of a name wins, as with find().
    for (const n of nodes) if (!byName.has(n.name)) byName.set(n.name, n);
    nodesByName.set(nodes, byName);
  }
  return byName.get(name);
}

/** Which agent serves a node: the bound one, binding an approved agent the first time it reports the node's address. */
export class NodeAgents {
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly journal: RunJournal;
  private readonly runs: ActiveRuns;
  private readonly now: () => number;
  /** Agents by the addresses they report: who may be proposed for a node, never who serves it. */
  private index: AgentsByAddress | undefined;
  /** "cluster\0node" -> bound agent id, as in the store. */
  private readonly boundCache = new Map<string, string | null>();
  /**
   * Agent records by id, read once: a wave dispatches a thousand steps, and reading and JSON-parsing each agent's row
   * for every one of them held the event loop. Refreshed when the agent's session opens (its facts are written then),
   * dropped when it is revoked; fields that change between sessions (connected, heartbeats, the VIP) are read from
   * the store by those who need them.
   */
  private readonly records = new Map<string, AgentRecord>();
  /** "cluster\0node\0agent" of claims already reported, so each is said once. */
  private readonly reportedClaims = new Set<string>();

  constructor(deps: { store: Store; logger: Logger; journal: RunJournal; runs: ActiveRuns; now: () => number }) {
    this.store = deps.store;
    this.logger = deps.logger;
    this.journal = deps.journal;
    this.runs = deps.runs;
    this.now = deps.now;
  }

  /**
   * The agent bound to the node (binding it now when an approved agent reports its address), or undefined. `removed`:
   * nodes a run removes, which the spec no longer has; a name in both is the spec's (a machine replacing a dead one).
   */
  agentFor(spec: ClusterSpec, nodeName: string, removed: readonly ClusterNodeSpec[] = []): AgentRecord | undefined {
    const node = nodeNamed(spec.spec.nodes, nodeName) ?? removed.find((n) => n.name === nodeName);
    if (!node) return undefined;
    const cluster = spec.metadata.name;
    const key = `${cluster}\u0000${node.name}`;
    const { bindings, agents } = this.store;
    if (!this.boundCache.has(key)) this.boundCache.set(key, bindings.bound(cluster, node.name) ?? null);
    const boundAgentId = this.boundCache.get(key) ?? undefined;
    this.index ??= new AgentsByAddress(agents.list());
    const resolution = resolveNodeAgent({
      claimants: this.index.claimants(node.address),
      boundAgentId,
      approved: boundAgentId === undefined ? new Set(bindings.approvedFor(node.name)) : new Set(),
      agent: (id) => this.record(id),
    });
    if (resolution.bindNow && resolution.agent) {
      bindings.bind(cluster, node.name, resolution.agent.id, this.now());
      this.boundCache.set(key, resolution.agent.id);
      this.logger.info({ cluster, node: node.name, agentId: resolution.agent.id }, 'node bound to agent');
    }
    for (const claimant of resolution.claimants) this.reportClaim(cluster, node, claimant, resolution.agent);
    return resolution.agent;
  }

  /**
   * The node left the cluster (or its machine is gone): its agent no longer serves it, and a machine that takes its
   * name later is bound anew, never served by the old one.
   */
  unbind(cluster: string, nodeName: string): void {
    const agentId = this.store.bindings.bound(cluster, nodeName);
    if (agentId === undefined) return;
    this.store.bindings.unbind(cluster, nodeName);
    this.boundCache.delete(`${cluster}\u0000${nodeName}`);
    this.logger.info({ cluster, node: nodeName, agentId }, 'node unbound from agent');
  }

  /** An agent's session opened: the addresses it reports now are the ones it is indexed under. */
  connected(agentId: string): void {
    const agent = this.store.agents.get(agentId);
    if (agent) this.records.set(agentId, agent);
    else this.records.delete(agentId);
    if (agent && this.index) this.index.claim(agent);
  }

  /** Forgets a revoked agent everywhere: its bindings and approvals are gone, and so is its place in the index. */
  revoked(agentId: string): void {
    this.store.bindings.removeAgent(agentId);
    for (const [key, bound] of this.boundCache) if (bound === agentId) this.boundCache.delete(key);
    this.records.delete(agentId);
    const agent = this.store.agents.get(agentId);
    if (agent && this.index) this.index.claim(agent);
  }

  private record(agentId: string): AgentRecord | undefined {
    let agent = this.records.get(agentId);
    if (!agent) {
      agent = this.store.agents.get(agentId);
      if (agent) this.records.set(agentId, agent);
    }
    return agent;
  }

  /** Says once, in the log and in the cluster's active runs, that an agent reports a node's address it may not serve. */
  private reportClaim(
    cluster: string,
    node: { name: string; address: string },
    claimant: AgentRecord,
    bound: AgentRecord | undefined,
  ): void {
    const key = `${cluster}\u0000${node.name}\u0000${claimant.id}`;
    if (this.reportedClaims.has(key)) return;
    this.reportedClaims.add(key);
    const message = bound
      ? `agent ${claimant.id} (${claimant.hostname}) reports ${node.address} of node ${node.name}, which is bound to ` +
        `agent ${bound.id}: refused, nothing of ${node.name}'s is sent to it`
      : `agent ${claimant.id} (${claimant.hostname}) reports ${node.address} of node ${node.name}: a proposed binding, ` +
        `not served until approved (kubeha agents approve ${claimant.id} --node ${node.name})`;
    this.logger.warn({ cluster, node: node.name, agentId: claimant.id, boundTo: bound?.id ?? null }, message);
    this.journal.record(() => {
      for (const active of this.runs.values()) {
        if (active.run.cluster !== cluster) continue;
        this.journal.event(active.run.id, { type: 'log', node: node.name, message: `warning: ${message}` });
      }
    });
  }
}
