import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../common/errors.ts';
import { createLogger } from '../../common/logger.ts';
import type { StepEventReport } from '../../common/step-events.ts';
import type { RunStep__Output } from '../../proto/generated/kubeha/v1/RunStep.ts';
import { FakeHost } from '../host/fake-host.ts';
import { paramsChecksum } from './params-checksum.ts';
import { ResultSpool } from './result-spool.ts';
import { plannedStep, type StepDefinition } from './step.ts';
import { StepExecutor } from './step-executor.ts';

/** A step that waits for the test to open its gate, and counts how often it really applied. */
function gateStep() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const state = { applied: 0, done: false };
  const definition: StepDefinition<unknown> = plannedStep<unknown>({
    kind: 'preflight',
    parseParams: (raw) => raw,
    async plan(ctx) {
      if (state.done) return [];
      return [
        {
          description: 'open the gate',
          apply: async () => {
            ctx.log('joining with token abcdef.0123456789abcdef');
            await Promise.race([
              gate,
              new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
            ]);
            state.applied++;
            state.done = true;
          },
        },
      ];
    },
  });
  return { definition, state, open: () => open() };
}

function runStepMessage(stepId = 'preflight/node1', attempt = 1): RunStep__Output {
  return {
    run_id: 'run-1',
    step_id: stepId,
    attempt,
    timeout_seconds: 60,
    dry_run: false,
    params: 'preflight',
    preflight: { role: 'worker', kubernetes_version: '1.31.4', lb_port: 0, already_member: false },
  } as unknown as RunStep__Output;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubeha-executor-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function executorWith(definition: StepDefinition<unknown>, connected = { value: true }) {
  const events: StepEventReport[] = [];
  const spool = new ResultSpool(join(dir, 'spool'));
  const executor = new StepExecutor({
    machinery: async () => ({ host: new FakeHost(), registry: new Map([[definition.kind, definition]]) }),
    spool,
    send: (event) => {
      if (!connected.value) return false;
      events.push(event);
      return true;
    },
    logger: createLogger({ name: 'test', level: 'fatal' }),
    now: () => 1_000,
  });
  return { executor, events, spool };
}

const params = { role: 'worker', kubernetesVersion: '1.31.4', lbPort: 0, alreadyMember: false };

describe('StepExecutor', () => {
  it('GIVEN a RunStep THEN it streams started, redacted log lines and finished, and spools the result', async () => {
    const gate = gateStep();
    const { executor, events } = executorWith(gate.definition);
    executor.handle({ run_step: runStepMessage(), kind: 'run_step' });
    expect(executor.running()).toEqual([{ runId: 'run-1', stepId: 'preflight/node1', attempt: 1 }]);
    gate.open();
    await executor.idle();
    expect(events.map((e) => e.type)).toEqual(['started', 'log', 'log', 'finished']);
    expect(events[0]).toMatchObject({ type: 'started', stepKind: 'preflight', paramsChecksum: paramsChecksum(params) });
    expect(events[2]).toMatchObject({ type: 'log', stream: 'info', text: 'joining with token <redacted>' });
    expect(events[3]).toMatchObject({ type: 'finished', result: { outcome: 'succeeded', changed: true } });
    expect(executor.unacknowledged()).toEqual([events[3]]);
    expect(executor.running()).toEqual([]);
  });

  it('GIVEN the same RunStep twice while it runs THEN it runs once', async () => {
    const gate = gateStep();
    const { executor, events } = executorWith(gate.definition);
    executor.handle({ run_step: runStepMessage(), kind: 'run_step' });
    executor.handle({ run_step: runStepMessage(), kind: 'run_step' });
    gate.open();
    await executor.idle();
    expect(gate.state.applied).toBe(1);
    expect(events.filter((e) => e.type === 'started')).toHaveLength(1);
  });

  it('GIVEN a RunStep already finished THEN it is answered from the spool, not run again', async () => {
    const gate = gateStep();
    const { executor, events } = executorWith(gate.definition);
    executor.handle({ run_step: runStepMessage(), kind: 'run_step' });
    gate.open();
    await executor.idle();
    const finished = events.at(-1);
    events.length = 0;
    gate.state.done = false;
    executor.handle({ run_step: runStepMessage(), kind: 'run_step' });
    await executor.idle();
    expect(events).toEqual([finished]);
    expect(gate.state.applied).toBe(1);
  });

  it('GIVEN no session when a step finishes THEN the result stays spooled across a restart until Ack', async () => {
    const gate = gateStep();
    const connected = { value: false };
    const { executor } = executorWith(gate.definition, connected);
    executor.handle({ run_step: runStepMessage(), kind: 'run_step' });
    gate.open();
    await executor.idle();
    expect(executor.unacknowledged()).toHaveLength(1);

    // An agent restart reads the spool back.
    const reloaded = new ResultSpool(join(dir, 'spool'));
    expect(reloaded.all()).toEqual(executor.unacknowledged());

    executor.handle({ ack: { run_id: 'run-1', step_id: 'preflight/node1', attempt: 1 }, kind: 'ack' });
    expect(executor.unacknowledged()).toEqual([]);
    expect(readdirSync(join(dir, 'spool'))).toEqual([]);
    expect(new ResultSpool(join(dir, 'spool')).all()).toEqual([]);
  });

  it('GIVEN a CancelStep THEN the running step ends cancelled', async () => {
    const gate = gateStep();
    const { executor, events } = executorWith(gate.definition);
    executor.handle({ run_step: runStepMessage(), kind: 'run_step' });
    await new Promise((r) => setImmediate(r));
    executor.handle({ cancel_step: { run_id: 'run-1', step_id: 'preflight/node1', attempt: 1 }, kind: 'cancel_step' });
    await executor.idle();
    expect(events.at(-1)).toMatchObject({ type: 'finished', result: { outcome: 'cancelled' } });
    expect(gate.state.applied).toBe(0);
  });

  it('GIVEN a kind this agent does not know THEN it fails deterministically', async () => {
    const { executor, events } = executorWith(gateStep().definition);
    const message = { ...runStepMessage(), params: 'verify', verify: { control_plane_endpoint: 'x', nodes: [] } };
    executor.handle({ run_step: message as unknown as RunStep__Output, kind: 'run_step' });
    await executor.idle();
    expect(events.at(-1)).toMatchObject({
      type: 'finished',
      result: { outcome: 'failed', error: { code: ErrorCode.paramsInvalid, deterministic: true } },
    });
  });

  it('GIVEN the agent stops mid-step THEN nothing is reported or spooled, so the coordinator re-sends it', async () => {
    const gate = gateStep();
    const { executor, events } = executorWith(gate.definition);
    executor.handle({ run_step: runStepMessage(), kind: 'run_step' });
    await executor.stop();
    expect(events.map((e) => e.type)).not.toContain('finished');
    expect(executor.unacknowledged()).toEqual([]);
  });
});
