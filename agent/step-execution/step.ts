import type { SnapshotChunk } from '../../proto/convert.ts';
import type { Host } from '../host/host.ts';

/** A piece of a snapshot file as a step sends it; the runner adds the step's run, id and attempt. */
export type StepSnapshotChunk = Omit<SnapshotChunk, 'runId' | 'stepId' | 'attempt'>;

/**
 * What a step sees while it runs. `change` is the one way to change the machine: in a dry run it only records
 * the description, so a dry run lists exactly what would change and a second run reports changed: false.
 */
export interface StepContext<P> {
  readonly host: Host;
  readonly params: P;
  readonly dryRun: boolean;
  readonly signal: AbortSignal;
  /** A progress line for the operator (redacted before it leaves the agent). */
  log(line: string): void;
  change(description: string, apply: () => Promise<void>): Promise<void>;
  /** Results the coordinator needs (e.g. the CA hash after kubeadm init). */
  output(key: string, value: string): void;
  /**
   * Sends a piece of an etcd snapshot to the coordinator on the agent's session, waiting while the session's send
   * buffer is full. Throws when there is no session (a step run from the command line, a lost connection).
   */
  sendSnapshotChunk(chunk: StepSnapshotChunk): Promise<void>;
}

/**
 * One step kind, one file under agent/steps/. The runner calls check -> apply -> check again;
 * a step whose second check still finds work has failed.
 */
export interface StepDefinition<P> {
  /** Stable name used on the wire and in `kubeha-agent step KIND`: "preflight", "host-prep", ... */
  readonly kind: string;
  /** Validates raw parameters (camelCase) and returns them typed; throws KubehaError(paramsInvalid) naming the field. */
  parseParams(raw: unknown): P;
  /** Reads the machine and says what would change; empty when it is already as wanted. */
  check(ctx: StepContext<P>): Promise<string[]>;
  /** Makes it so, through ctx.change. */
  apply(ctx: StepContext<P>): Promise<void>;
  /** Optional last word after the second check (e.g. the CRI socket answers); throws when the result does not work. Not run in a dry run. */
  verify?(ctx: StepContext<P>): Promise<void>;
  /** A failure of this step cannot be fixed by a retry (invalid input, failed preflight). */
  readonly deterministic?: boolean;
}

/** One change a step would make: what the operator reads in a dry run, and how to make it. */
export interface PlannedChange {
  description: string;
  apply(): Promise<void>;
}

/**
 * Most steps are "read the machine, list the changes": `plan` is called for the check, again for apply, and again
 * for the second check, so it must only read.
 */
export function plannedStep<P>(spec: {
  kind: string;
  parseParams(raw: unknown): P;
  plan(ctx: StepContext<P>): Promise<PlannedChange[]>;
  verify?(ctx: StepContext<P>): Promise<void>;
  deterministic?: boolean;
}): StepDefinition<P> {
  return {
    kind: spec.kind,
    parseParams: spec.parseParams,
    ...(spec.deterministic === undefined ? {} : { deterministic: spec.deterministic }),
    ...(spec.verify ? { verify: spec.verify } : {}),
    async check(ctx) {
      return (await spec.plan(ctx)).map((c) => c.description);
    },
    async apply(ctx) {
      for (const change of await spec.plan(ctx)) await ctx.change(change.description, () => change.apply());
    },
  };
}
