import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../support/wait-for.ts';
import type { SimAgent, SimExecution, SimScript } from './sim-agent.ts';
import { type SimNode, simScript } from './sim-fleet.ts';

/** What a child of the fleet is given: the agents it runs (enrolled by the parent) and how long each step takes. */
export interface SimFleetChildInit {
  type: 'init';
  coordinator: string;
  caPem: string;
  agents: { node: SimNode; agentId: string; certPem: string; keyPem: string }[];
  heartbeatMs: number;
  /** Each step kind's time (ms), times the node's speed; kinds not listed take defaultDelayMs. */
  delays: Record<string, number>;
  defaultDelayMs: number;
  speeds: Record<string, number>;
  /** Agents connected at a time, as hosts come up. */
  connectWave: number;
}

export type SimFleetChildMessage =
  | { type: 'connected' }
  | { type: 'executions'; executions: SimExecution[] }
  | { type: 'stopped' }
  | { type: 'failed'; error: string };

export type SimFleetParentMessage = SimFleetChildInit | { type: 'report' } | { type: 'stop' };

/** How long steps take: a kind's time (ms), or defaultDelayMs, times the node's speed (1 when not listed). */
export type SimStepTimes = Pick<SimFleetChildInit, 'delays' | 'defaultDelayMs' | 'speeds'>;

/** The simulated agents' script for those step times, with the outputs of simScript. */
export function timedSimScript(times: SimStepTimes): SimScript {
  return simScript({}, (step) => ({
    delayMs: Math.round((times.delays[step.kind] ?? times.defaultDelayMs) * (times.speeds[step.node] ?? 1)),
  }));
}

const childMain = join(import.meta.dirname, 'sim-fleet-child-main.ts');

/** Starts the agents `wave` at a time, as hosts come up, each wave once the one before is connected. */
export async function connectInWaves(agents: SimAgent[], wave: number): Promise<void> {
  for (let i = 0; i < agents.length; i += wave) {
    const started = agents.slice(i, i + wave);
    for (const a of started) a.start();
    await waitFor(
      `agents ${i + 1}-${i + started.length} connected`,
      () => started.every((a) => a.connected),
      300_000,
      100,
    );
  }
}

/** What a bench needs of a fleet of simulated agents, however many processes run them. */
export interface SimFleetHandle {
  readonly size: number;
  /** Starts every agent, in waves, and resolves once all are connected. */
  connectAll(): Promise<void>;
  /** Every step execution so far, from every agent. */
  executions(): Promise<SimExecution[]>;
  stop(): Promise<void>;
}

/** The agents in this process, sharing its event loop (as every sim test runs them). */
export function inProcessFleet(agents: SimAgent[], executions: SimExecution[], connectWave: number): SimFleetHandle {
  return {
    size: agents.length,
    connectAll: () => connectInWaves(agents, connectWave),
    executions: async () => executions,
    stop: async () => {
      await Promise.all(agents.map((a) => a.stop()));
    },
  };
}

/**
 * Already-enrolled agents run by `processes` child processes, each its own event loop: real agents each have their
 * own host, so decoding a wave of a thousand RunSteps is not one process's work. The agents' own clients in this
 * process are closed; only their identities are handed over.
 */
export function childProcessFleet(
  agents: SimAgent[],
  options: Omit<SimFleetChildInit, 'type' | 'agents' | 'coordinator' | 'caPem'> & {
    processes: number;
    nodeOf: (name: string) => SimNode;
  },
): SimFleetHandle {
  const { processes, nodeOf, ...behaviour } = options;
  for (const a of agents) void a.stop();
  const groups: SimAgent[][] = Array.from({ length: Math.min(processes, agents.length) }, () => []);
  for (const [i, a] of agents.entries()) groups[i % groups.length]!.push(a);
  const children = groups.map((group) => {
    const child = fork(childMain, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    const init: SimFleetChildInit = {
      type: 'init',
      coordinator: group[0]!.options.coordinator,
      caPem: group[0]!.options.caPem,
      agents: group.map(({ options: o }) => ({
        node: nodeOf(o.node),
        agentId: o.agentId,
        certPem: o.certPem,
        keyPem: o.keyPem,
      })),
      ...behaviour,
      connectWave: Math.max(1, Math.ceil(behaviour.connectWave / groups.length)),
    };
    child.send(init);
    return child;
  });
  const ask = <T extends SimFleetChildMessage['type']>(child: ChildProcess, request: SimFleetParentMessage, reply: T) =>
    new Promise<Extract<SimFleetChildMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (message: SimFleetChildMessage) => {
        if (message.type === 'failed') {
          cleanup();
          reject(new Error(`a simulated-agent process (pid ${child.pid}) failed: ${message.error}`));
        } else if (message.type === reply) {
          cleanup();
          resolve(message as Extract<SimFleetChildMessage, { type: T }>);
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`a simulated-agent process (pid ${child.pid}) exited (${code}) before it said ${reply}`));
      };
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      if (request.type !== 'init') child.send(request);
    });
  const connected = children.map((child) => ask(child, { type: 'init' } as SimFleetChildInit, 'connected'));
  // Nobody may wait on `connected` yet: an early failure must not go unhandled.
  for (const c of connected) c.catch(() => {});
  return {
    size: agents.length,
    async connectAll() {
      await Promise.all(connected);
    },
    async executions() {
      const replies = await Promise.all(children.map((child) => ask(child, { type: 'report' }, 'executions')));
      return replies.flatMap((r) => r.executions).sort((a, b) => a.startedAt - b.startedAt);
    },
    async stop() {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null) return;
          await Promise.race([ask(child, { type: 'stop' }, 'stopped'), new Promise((r) => setTimeout(r, 5_000))]);
          child.kill('SIGKILL');
        }),
      );
    },
  };
}
