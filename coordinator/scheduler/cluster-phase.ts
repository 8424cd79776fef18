import { clusterPhaseMessage, type MessageToAgent } from '../../proto/convert.ts';
import type { ClusterSpec } from '../cluster-spec/cluster-spec.ts';
import type { Store } from '../store/store.ts';
import { clusterCaPem } from './cluster-values.ts';
import type { NodeAgents } from './node-agents.ts';
import type { RunJournal } from './run-journal.ts';

/** What each node's agent is told of its cluster: initialized or not, whether it is the init node, the endpoint. */
export class ClusterPhases {
  private readonly store: Store;
  private readonly journal: RunJournal;
  private readonly nodeAgents: NodeAgents;

  constructor(deps: { store: Store; journal: RunJournal; nodeAgents: NodeAgents }) {
    this.store = deps.store;
    this.journal = deps.journal;
    this.nodeAgents = deps.nodeAgents;
  }

  /** The ClusterPhase of every cluster this agent is a node of; sent when its session opens. */
  messagesFor(agentId: string): MessageToAgent[] {
    const agent = this.store.agents.get(agentId);
    if (!agent) return [];
    const messages: MessageToAgent[] = [];
    for (const cluster of this.store.clusters.list()) {
      const node = cluster.spec.spec.nodes.find((n) => this.nodeAgents.agentFor(cluster.spec, n.name)?.id === agentId);
      if (node) messages.push(this.phaseFor(cluster.spec, node.name, cluster.initializedAt !== null));
    }
    return messages;
  }

  /** Tells every node's agent, behind the messages that steps wait for. */
  broadcast(spec: ClusterSpec, initialized: boolean): void {
    // One transaction: the first broadcast of a cluster binds each node (a thousand INSERTs, each its own commit
    // otherwise).
    this.journal.record(() => {
      for (const node of spec.spec.nodes) {
        const agent = this.nodeAgents.agentFor(spec, node.name);
        if (!agent) continue;
        this.journal.deliver(agent.id, this.phaseFor(spec, node.name, initialized), { background: true });
      }
    });
  }

  private phaseFor(spec: ClusterSpec, node: string, initialized: boolean): MessageToAgent {
    const initNode = spec.spec.nodes.find((n) => n.role === 'control-plane')?.name;
    return clusterPhaseMessage({
      cluster: spec.metadata.name,
      initialized,
      initNode: node === initNode,
      endpointMode: spec.spec.endpoint.mode,
      lbPort: spec.spec.endpoint.port,
      vip: spec.spec.endpoint.vip,
      clusterCaPem: initialized ? (clusterCaPem(this.journal.valuesOf(spec.metadata.name)) ?? '') : '',
    });
  }
}
