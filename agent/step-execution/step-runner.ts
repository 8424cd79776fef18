/**
 * Runs one step: parse params -> check -> (dry run: stop) -> apply through ctx.change -> check again -> verify.
 *
 *   const result = await runStep(hostPrepStep, rawParams, { host, dryRun: false, timeoutMs: 600_000, signal,
 *     onLog: (stream, text) => ..., onStarted: (checksum) => ... });
 *   result.outcome   // 'succeeded' | 'failed' | 'cancelled' | 'timed-out'
 *   result.changed   // false when the first check found nothing to do
 *   result.changes   // what changed, or in a dry run what would change
 *   result.error     // { code, message, command?, exitCode?, stderrTail?, deterministic }
 *
 * It never throws: every failure becomes a result. Commands run by the step get the step's abort signal (timeout or
 * cancellation kills them) and stream their lines to onLog.
 */
import { ErrorCode, isKubehaError, isNonRetryableCode, KubehaError } from '../../common/errors.ts';
import { redactSecrets } from '../../common/redact.ts';
import type { StepFailure, StepOutcome, StepRef, StepResult } from '../../common/step-events.ts';
import type { SnapshotChunk } from '../../proto/convert.ts';
import { CommandFailedError, formatCommandLine, type Host } from '../host/host.ts';
import { paramsChecksum } from './params-checksum.ts';
import type { StepContext, StepDefinition } from './step.ts';

export type LogStream = 'stdout' | 'stderr' | 'info';

export interface RunStepOptions {
  host: Host;
  dryRun?: boolean;
  /** The step is aborted (its commands killed) after this long; outcome "timed-out". */
  timeoutMs?: number;
  /** Aborting it cancels the step; outcome "cancelled". */
  signal?: AbortSignal;
  ref?: StepRef;
  /** Step progress and command output, line by line, not yet redacted. */
  onLog?: (stream: LogStream, text: string) => void;
  /** Called once the parameters are parsed (or found invalid), before anything runs. */
  onStarted?: (paramsChecksum: string) => void;
  /** Sends a snapshot chunk on the agent's session (with `ref`); absent when the step runs without a coordinator. */
  sendSnapshotChunk?: (chunk: SnapshotChunk) => Promise<void>;
}

class StepAborted extends Error {
  readonly outcome: 'cancelled' | 'timed-out';
  constructor(outcome: 'cancelled' | 'timed-out', message: string) {
    super(message);
    this.outcome = outcome;
  }
}

/**
 * The Host a step sees: every command gets the step's signal. Commands run inside ctx.change (the ones that
 * change the machine) are announced and stream their output to the step log; read-only probes stay quiet.
 */
function stepHost(
  host: Host,
  signal: AbortSignal,
  changing: () => boolean,
  log: (stream: LogStream, text: string) => void,
): Host {
  return {
    exec: (command, args, options = {}) => {
      if (signal.aborted) return Promise.reject(signal.reason);
      const loud = changing();
      if (loud) log('info', `$ ${redactSecrets(formatCommandLine(command, args))}`);
      return host.exec(command, args, {
        ...options,
        signal: options.signal ? AbortSignal.any([signal, options.signal]) : signal,
        ...(options.onLine
          ? {}
          : loud
            ? { onLine: (stream: 'stdout' | 'stderr', line: string) => log(stream, line) }
            : {}),
      });
    },
    readFile: (path) => host.readFile(path),
    writeFileAtomic: (path, content, mode) => {
      if (signal.aborted) return Promise.reject(signal.reason);
      return host.writeFileAtomic(path, content, mode);
    },
    exists: (path) => host.exists(path),
    remove: (path) => host.remove(path),
    rename: (from, to) => host.rename(from, to),
    readChunks: (path, chunkBytes) => host.readChunks(path, chunkBytes),
    listDir: (path) => host.listDir(path),
    mkdir: (path, mode) => host.mkdir(path, mode),
    fileMode: (path) => host.fileMode(path),
    fileOwner: (path) => host.fileOwner(path),
    chown: (path, owner) => {
      if (signal.aborted) return Promise.reject(signal.reason);
      return host.chown(path, owner);
    },
    facts: () => host.facts(),
  };
}

function failureOf(kind: string, error: unknown, deterministicStep: boolean): StepFailure {
  if (error instanceof CommandFailedError) {
    return {
      code: ErrorCode.commandFailed,
      message: `${kind}: ${error.message}`,
      command: error.commandLine,
      exitCode: error.exitCode,
      stderrTail: error.stderrTail,
      deterministic: deterministicStep,
    };
  }
  if (isKubehaError(error)) {
    return {
      code: error.code,
      message: error.message.startsWith(`${kind}`) ? error.message : `${kind}: ${error.message}`,
      deterministic: isNonRetryableCode(error.code) || deterministicStep,
    };
  }
  return {
    code: ErrorCode.internal,
    message: `${kind}: ${error instanceof Error ? error.message : String(error)}`,
    deterministic: false,
  };
}

export async function runStep<P>(
  definition: StepDefinition<P>,
  rawParams: unknown,
  options: RunStepOptions,
): Promise<StepResult> {
  const dryRun = options.dryRun ?? false;
  const outputs: Record<string, string> = {};
  const changes: string[] = [];
  const log = (stream: LogStream, text: string) => options.onLog?.(stream, text);

  let params: P;
  try {
    params = definition.parseParams(rawParams);
  } catch (error) {
    const checksum = paramsChecksum(rawParams ?? null);
    options.onStarted?.(checksum);
    return {
      outcome: 'failed',
      changed: false,
      error: failureOf(definition.kind, error, true),
      outputs,
      paramsChecksum: checksum,
      changes,
    };
  }
  const checksum = paramsChecksum(params);
  options.onStarted?.(checksum);

  const controller = new AbortController();
  const onCancel = () => controller.abort(new StepAborted('cancelled', `${definition.kind}: cancelled`));
  if (options.signal?.aborted) onCancel();
  options.signal?.addEventListener('abort', onCancel, { once: true });
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            controller.abort(
              new StepAborted(
                'timed-out',
                `${definition.kind}: timed out after ${Math.round(options.timeoutMs! / 1000)} s`,
              ),
            ),
          options.timeoutMs,
        );
  const signal = controller.signal;
  const aborted = new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});

  let changing = 0;
  const ctx: StepContext<P> = {
    host: stepHost(options.host, signal, () => changing > 0, log),
    params,
    dryRun,
    signal,
    log: (line) => log('info', line),
    async change(description, apply) {
      if (signal.aborted) throw signal.reason;
      changes.push(description);
      if (dryRun) return;
      log('info', `change: ${description}`);
      changing++;
      try {
        await apply();
      } finally {
        changing--;
      }
    },
    output(key, value) {
      outputs[key] = value;
    },
    async sendSnapshotChunk(chunk) {
      if (signal.aborted) throw signal.reason;
      if (!options.sendSnapshotChunk || !options.ref) {
        throw new KubehaError(
          ErrorCode.stepFailed,
          `${definition.kind}: no session with a coordinator to send the snapshot to; start it as a run (kubeha etcd snapshot)`,
        );
      }
      await options.sendSnapshotChunk({ ...options.ref, ...chunk });
    },
  };

  const work = async (): Promise<boolean> => {
    const pending = await definition.check(ctx);
    if (dryRun) {
      changes.push(...pending);
      return pending.length > 0;
    }
    if (pending.length > 0) {
      await definition.apply(ctx);
      const left = await definition.check(ctx);
      if (left.length > 0) {
        throw new KubehaError(
          ErrorCode.stepFailed,
          `${definition.kind}: still not as wanted after apply: ${left.join('; ')}`,
          { details: left },
        );
      }
    }
    await definition.verify?.(ctx);
    return pending.length > 0;
  };

  try {
    const changed = await Promise.race([work(), aborted]);
    return { outcome: 'succeeded', changed, outputs, paramsChecksum: checksum, changes };
  } catch (caught) {
    const error = signal.aborted ? signal.reason : caught;
    let outcome: StepOutcome = 'failed';
    let failure: StepFailure;
    if (error instanceof StepAborted) {
      outcome = error.outcome;
      failure = { code: ErrorCode.stepFailed, message: error.message, deterministic: false };
    } else {
      failure = failureOf(definition.kind, error, definition.deterministic ?? false);
    }
    return {
      outcome,
      changed: !dryRun && changes.length > 0,
      error: failure,
      outputs,
      paramsChecksum: checksum,
      changes,
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCancel);
  }
}
