/**
 * Runs the coordinator's RunStep messages on this node and reports back:
 *
 *   const executor = new StepExecutor({ machinery: async () => ({ host, registry }), spool, logger,
 *     send: (event) => session.sendStepEvent(event) });
 *   executor.handle(coordinatorMessage);   // run_step | cancel_step | ack; other kinds are ignored
 *   executor.unacknowledged();             // for Hello.unacknowledged
 *   executor.running();                    // for Hello.running
 *
 * Events: started, log lines (redacted), finished. A finished result is spooled before it is sent and stays
 * spooled until the coordinator's Ack. A RunStep already running is not started twice; one already finished is
 * answered from the spool.
 */

import { ErrorCode } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { redactSecrets } from '../../common/redact.ts';
import type { StepEventReport, StepOutcome, StepRef, StepResult } from '../../common/step-events.ts';
import { type SnapshotChunk, stepParamsFromRunStep } from '../../proto/convert.ts';
import type { CoordinatorMessage__Output } from '../../proto/generated/kubeha/v1/CoordinatorMessage.ts';
import type { RunStep__Output } from '../../proto/generated/kubeha/v1/RunStep.ts';
import type { Host } from '../host/host.ts';
import { type FinishedEvent, type ResultSpool, stepRefKey } from './result-spool.ts';
import type { StepDefinition } from './step.ts';
import { runStep } from './step-runner.ts';

export interface StepMachinery {
  host: Host;
  registry: ReadonlyMap<string, StepDefinition<unknown>>;
}

export interface StepExecutorOptions {
  /** The machine and the step kinds; called on the first RunStep, so an idle agent does not load them. */
  machinery(): Promise<StepMachinery>;
  spool: ResultSpool;
  /** Sends one event on the session; false when there is no session (finished results stay spooled). */
  send(event: StepEventReport): boolean;
  /** Sends a snapshot chunk on the session, waiting while its buffer is full; throws when there is no session. */
  sendSnapshotChunk?(chunk: SnapshotChunk): Promise<void>;
  logger: Logger;
  now?: () => number;
  /** Log lines streamed per step; the rest are counted and reported once. */
  maxLogLines?: number;
  /** Told of every step that ran for real (not a dry run), with its duration. */
  onStepFinished?(kind: string, outcome: StepOutcome, seconds: number): void;
}

interface Running {
  ref: StepRef;
  controller: AbortController;
  done: Promise<void>;
}

const maxLineLength = 4_000;
const rememberedAcks = 1_000;

export class StepExecutor {
  private readonly options: StepExecutorOptions;
  private readonly inFlight = new Map<string, Running>();
  private readonly acked = new Set<string>();
  private stopping = false;
  private machinery: Promise<StepMachinery> | undefined;

  constructor(options: StepExecutorOptions) {
    this.options = options;
  }

  /** Handles the step messages of the session; true when the message was one of them. */
  handle(message: CoordinatorMessage__Output): boolean {
    if (message.run_step) {
      this.runStep(message.run_step);
      return true;
    }
    if (message.cancel_step) {
      this.cancel({
        runId: message.cancel_step.run_id,
        stepId: message.cancel_step.step_id,
        attempt: message.cancel_step.attempt,
      });
      return true;
    }
    if (message.ack) {
      this.ack({ runId: message.ack.run_id, stepId: message.ack.step_id, attempt: message.ack.attempt });
      return true;
    }
    return false;
  }

  unacknowledged(): StepEventReport[] {
    return this.options.spool.all();
  }

  running(): StepRef[] {
    return [...this.inFlight.values()].map((r) => r.ref);
  }

  runStep(message: RunStep__Output): void {
    if (this.stopping) return;
    const ref: StepRef = { runId: message.run_id, stepId: message.step_id, attempt: message.attempt };
    const key = stepRefKey(ref);
    const log = this.options.logger.child({ runId: ref.runId, stepId: ref.stepId, attempt: ref.attempt });
    if (this.inFlight.has(key)) {
      log.info('RunStep for a step already running: not started twice');
      return;
    }
    const spooled = this.options.spool.get(ref);
    if (spooled) {
      log.info('RunStep for a step already finished: answered from the spool');
      this.options.send(spooled);
      return;
    }
    if (this.acked.has(key)) {
      log.warn('RunStep for a step whose result was already acknowledged: ignored');
      return;
    }
    const controller = new AbortController();
    const done = this.execute(ref, message, controller.signal, log).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, { ref, controller, done });
  }

  cancel(ref: StepRef): void {
    this.inFlight.get(stepRefKey(ref))?.controller.abort();
  }

  ack(ref: StepRef): void {
    this.options.spool.remove(ref);
    const key = stepRefKey(ref);
    this.acked.add(key);
    if (this.acked.size > rememberedAcks) this.acked.delete(this.acked.values().next().value!);
  }

  /** Resolves once every step running now has finished (and its result is spooled). */
  async idle(): Promise<void> {
    await Promise.all([...this.inFlight.values()].map((r) => r.done));
  }

  /**
   * Agent shutdown: aborts every running step without reporting it, so the coordinator, seeing it no longer
   * running after the next Hello, sends the same RunStep again and the step re-runs (steps are idempotent).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.inFlight.values()) r.controller.abort();
    await this.idle();
  }

  private async execute(ref: StepRef, message: RunStep__Output, signal: AbortSignal, log: Logger): Promise<void> {
    const now = this.options.now ?? Date.now;
    const send = (body: StepEventReport) => this.options.send(body);
    const maxLines = this.options.maxLogLines ?? 5_000;
    let lines = 0;
    let dropped = 0;
    const onLog = (stream: 'stdout' | 'stderr' | 'info', text: string) => {
      if (lines >= maxLines) {
        dropped++;
        return;
      }
      lines++;
      const clipped = text.length > maxLineLength ? `${text.slice(0, maxLineLength)}...` : text;
      send({ ...ref, atMs: now(), type: 'log', stream, text: redactSecrets(clipped) });
    };

    let result: StepResult;
    this.machinery ??= this.options.machinery();
    const { host, registry } = await this.machinery;
    const parsed = stepParamsFromRunStep(message);
    const definition = parsed ? registry.get(parsed.kind) : undefined;
    if (!parsed || !definition) {
      const what = parsed ? `unknown step kind "${parsed.kind}"` : 'a RunStep without parameters';
      result = {
        outcome: 'failed',
        changed: false,
        error: { code: ErrorCode.paramsInvalid, message: `this agent cannot run ${what}`, deterministic: true },
        outputs: {},
        paramsChecksum: '',
        changes: [],
      };
    } else {
      log.info({ kind: definition.kind, dryRun: message.dry_run }, 'step started');
      const started = performance.now();
      result = await runStep(definition, parsed.params, {
        host,
        dryRun: message.dry_run,
        ...(message.timeout_seconds > 0 ? { timeoutMs: message.timeout_seconds * 1000 } : {}),
        signal,
        ref,
        onLog,
        ...(this.options.sendSnapshotChunk
          ? { sendSnapshotChunk: (chunk: SnapshotChunk) => this.options.sendSnapshotChunk!(chunk) }
          : {}),
        onStarted: (paramsChecksum) =>
          send({ ...ref, atMs: now(), type: 'started', stepKind: definition.kind, paramsChecksum }),
      });
      if (!message.dry_run && !this.stopping) {
        this.options.onStepFinished?.(definition.kind, result.outcome, (performance.now() - started) / 1000);
      }
    }
    if (dropped > 0) {
      send({ ...ref, atMs: now(), type: 'log', stream: 'info', text: `${dropped} more log lines not streamed` });
    }
    if (this.stopping) {
      log.info(
        { outcome: result.outcome },
        'step interrupted by the agent stopping; the coordinator will send it again',
      );
      return;
    }
    const finished: FinishedEvent = { ...ref, atMs: now(), type: 'finished', result: redactResult(result) };
    try {
      this.options.spool.add(finished);
    } catch (error) {
      log.error({ err: error }, 'cannot spool the step result; sending it without a spool');
    }
    log.info({ outcome: result.outcome, changed: result.changed }, 'step finished');
    send(finished);
  }
}

function redactResult(result: StepResult): StepResult {
  return {
    ...result,
    changes: result.changes.map(redactSecrets),
    ...(result.error
      ? {
          error: {
            ...result.error,
            message: redactSecrets(result.error.message),
            ...(result.error.command === undefined ? {} : { command: redactSecrets(result.error.command) }),
            ...(result.error.stderrTail === undefined ? {} : { stderrTail: redactSecrets(result.error.stderrTail) }),
          },
        }
      : {}),
  };
}
