/**
 * One process of a fleet of simulated agents (sim-fleet-process.ts): runs the agents it is given, says when all are
 * connected, hands over its step executions when asked, and stops its agents when told.
 */
import { SimAgent, type SimExecution } from './sim-agent.ts';
import { simFacts } from './sim-fleet.ts';
import {
  connectInWaves,
  type SimFleetChildMessage,
  type SimFleetParentMessage,
  timedSimScript,
} from './sim-fleet-process.ts';

const agents: SimAgent[] = [];
const executions: SimExecution[] = [];

function tell(message: SimFleetChildMessage): void {
  process.send?.(message);
}

async function start(init: Extract<SimFleetParentMessage, { type: 'init' }>): Promise<void> {
  const script = timedSimScript(init);
  for (const a of init.agents) {
    agents.push(
      new SimAgent({
        node: a.node.name,
        agentId: a.agentId,
        coordinator: init.coordinator,
        caPem: init.caPem,
        certPem: a.certPem,
        keyPem: a.keyPem,
        facts: simFacts(a.node),
        script,
        executions,
        heartbeatMs: init.heartbeatMs,
      }),
    );
  }
  await connectInWaves(agents, init.connectWave);
  tell({ type: 'connected' });
}

process.on('message', (message: SimFleetParentMessage) => {
  if (message.type === 'init') {
    start(message).catch((error: unknown) => tell({ type: 'failed', error: String(error) }));
  } else if (message.type === 'report') {
    tell({ type: 'executions', executions });
  } else if (message.type === 'stop') {
    void Promise.all(agents.map((a) => a.stop())).then(() => {
      tell({ type: 'stopped' });
      process.disconnect();
    });
  }
});
// The parent gone, nothing here has a purpose: leave rather than reconnect forever.
process.on('disconnect', () => process.exit(0));
