import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agent/agent-service.ts';
import { FakeHost } from '../../agent/host/fake-host.ts';
import { plannedStep, type StepDefinition } from '../../agent/step-execution/step.ts';
import { createLogger } from '../../common/logger.ts';
import type { StepEventReport } from '../../common/step-events.ts';
import { runStepFor } from '../../proto/convert.ts';
import { FoundationHarness, sampleFacts } from '../support/foundation-harness.ts';
import { waitFor } from '../support/wait-for.ts';

let h: FoundationHarness;
let agent: RunningAgent | undefined;

beforeEach(async () => {
  h = new FoundationHarness();
  await h.startCoordinator();
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await h.close();
});

/** Stands in for preflight: waits until the test opens the gate, then reports it applied. */
function gatedPreflight() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const state = { applied: 0 };
  const definition: StepDefinition<unknown> = plannedStep<unknown>({
    kind: 'preflight',
    parseParams: (raw) => raw,
    async plan(ctx) {
      if (state.applied > 0) return [];
      return [
        {
          description: 'wait for the gate',
          apply: async () => {
            ctx.log('token abcdef.0123456789abcdef seen');
            await gate;
            state.applied++;
          },
        },
      ];
    },
  });
  return { definition, state, open: () => open() };
}

describe('RunStep over a real session', () => {
  it('GIVEN a step that finishes while the coordinator is down THEN its result is re-sent in Hello after the reconnect and dropped on Ack; a repeated RunStep is not run twice', async () => {
    const token = await h.createToken();
    const enrolled = await h.enrollAgent('node1', token.token);
    const config = h.agentConfig(enrolled.configPath);
    const step = gatedPreflight();
    agent = startAgent(config, {
      logger: createLogger({ name: 'agent', level: 'fatal' }),
      version: '0.0.0-test',
      facts: async () => sampleFacts('node1'),
      host: new FakeHost(),
      steps: new Map([['preflight', step.definition]]),
    });
    const running = agent;
    await waitFor('the session', () => running.session.connected || undefined);

    const events: StepEventReport[] = [];
    h.coordinator.gateway.addListener({ stepEvent: (_id, event) => void events.push(event) });
    const message = {
      run_step: runStepFor({ runId: 'run-x', stepId: 'preflight/node1', attempt: 1, timeoutSeconds: 60 }, 'preflight', {
        role: 'worker',
        kubernetesVersion: '1.31.4',
        lbPort: 0,
        alreadyMember: false,
      }),
    };
    expect(h.coordinator.gateway.send(enrolled.agentId, message)).toBe(true);
    await waitFor(
      'started and the log line',
      () => events.some((e) => e.type === 'log' && e.text.includes('token')) || undefined,
    );
    expect(events[0]).toMatchObject({ type: 'started', stepKind: 'preflight', runId: 'run-x' });
    expect(events.find((e) => e.type === 'log' && e.text.includes('token'))).toMatchObject({
      text: 'token <redacted> seen',
    });

    // The same RunStep again while it runs: not started twice.
    h.coordinator.gateway.send(enrolled.agentId, message);

    const port = h.coordinator.grpcPort;
    await h.coordinator.stop();
    await waitFor('the agent to notice', () => !running.session.connected || undefined);
    step.open();
    await running.steps.idle();
    expect(running.steps.unacknowledged()).toHaveLength(1);
    expect(running.steps.unacknowledged()[0]).toMatchObject({
      type: 'finished',
      result: { outcome: 'succeeded', changed: true },
    });

    await h.startCoordinator(port);
    // The result reaches the restarted coordinator only through Hello.unacknowledged; its Ack empties the spool.
    await waitFor('the spool to empty after Ack', () => running.steps.unacknowledged().length === 0 || undefined);
    expect(step.state.applied).toBe(1);
  });
});
