import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../../common/errors.ts';
import { redactSecrets } from '../../../common/redact.ts';
import type { StepFailure } from '../../../common/step-events.ts';
import { plannedChangesOutput } from '../../scheduler/result-intake.ts';
import type { RunEventBus } from '../../scheduler/run-event-bus.ts';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import {
  isRunFinished,
  type RunEvent,
  type RunRecord,
  type StepAttemptError,
  type StepRecord,
  type Store,
} from '../../store/store.ts';
import type { ApiPlugin } from '../build-api.ts';
import { clientErrorReplies, ErrorReply } from '../error-reply.ts';

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const RunReply = Type.Object(
  {
    id: Type.String(),
    cluster: Type.String(),
    kind: Type.String(),
    state: Type.String({ description: 'running | succeeded | failed | cancelled' }),
    createdAt: Type.String({ format: 'date-time' }),
    finishedAt: Time,
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { $id: 'Run' },
);

const StepErrorReply = Type.Object({
  code: Type.String(),
  message: Type.String(),
  command: Type.Optional(Type.String()),
  exitCode: Type.Optional(Type.Integer()),
  stderrTail: Type.Optional(Type.String()),
  deterministic: Type.Boolean(),
});

const StepReply = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  node: Type.String(),
  forNode: Type.Union([Type.String(), Type.Null()]),
  state: Type.String({
    description: 'pending | preparing | dispatched | running | retry-wait | succeeded | failed | skipped | cancelled',
  }),
  attempt: Type.Integer(),
  maxAttempts: Type.Integer(),
  dependsOn: Type.Array(Type.String()),
  bestEffort: Type.Boolean(),
  changed: Type.Boolean(),
  dispatchedAt: Time,
  startedAt: Time,
  finishedAt: Time,
  nextAttemptAt: Time,
  wouldChange: Type.Optional(
    Type.Array(Type.String(), {
      description: 'plan runs: what the step would change on its node (its dry run); empty when it is up to date',
    }),
  ),
  report: Type.Optional(
    Type.String({
      description:
        'the step report as JSON: failover-drill (FailoverDrillReport), verify (ClusterHealthReport), agents-connected (AgentsConnectedReport)',
    }),
  ),
  error: Type.Union([StepErrorReply, Type.Null()]),
  attempts: Type.Array(
    Type.Object({
      attempt: Type.Integer(),
      finishedAt: Time,
      retryAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
        description: 'when the next attempt was due; null when none followed',
      }),
      error: StepErrorReply,
    }),
    { description: 'every attempt that failed, oldest first, also when a later attempt succeeded' },
  ),
});

const RunDetailReply = Type.Object({
  ...RunReply.properties,
  lastEventId: Type.Integer({
    description: 'the id of the run’s latest event when this was read: the events after it follow this state',
  }),
  steps: Type.Array(StepReply),
});

/** The replies as the CLI reads them. */
export type RunSummary = Static<typeof RunReply>;
export type RunDetail = Static<typeof RunDetailReply>;
export type RunStepDetail = RunDetail['steps'][number];

const IdParams = Type.Object({ id: Type.String({ pattern: '^run-[0-9a-f-]{36}$' }) });

/** Steps whose `report` output is served with the step. */
const stepKindsWithReport: ReadonlySet<string> = new Set(['failover-drill', 'verify', 'agents-connected']);

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function runToReply(run: RunRecord) {
  return {
    id: run.id,
    cluster: run.cluster,
    kind: run.kind,
    state: run.state,
    createdAt: new Date(run.createdAt).toISOString(),
    finishedAt: iso(run.finishedAt),
    error: run.error === null ? null : redactSecrets(run.error),
  };
}

/** A plan run's dry-run list of a step, as result-intake kept it; undefined when the step has none. */
function wouldChange(step: StepRecord): string[] | undefined {
  const raw = step.outputs[plannedChangesOutput];
  if (raw === undefined) return undefined;
  try {
    const list: unknown = JSON.parse(raw);
    return Array.isArray(list) ? list.map((c) => redactSecrets(String(c))) : undefined;
  } catch {
    return undefined;
  }
}

function errorToReply(e: StepFailure) {
  return {
    code: e.code,
    message: redactSecrets(e.message),
    ...(e.command === undefined ? {} : { command: redactSecrets(e.command) }),
    ...(e.exitCode === undefined ? {} : { exitCode: e.exitCode }),
    ...(e.stderrTail === undefined ? {} : { stderrTail: redactSecrets(e.stderrTail) }),
    deterministic: e.deterministic,
  };
}

function stepToReply(step: StepRecord, attempts: readonly StepAttemptError[] = [], planRun = false) {
  const planned = planRun ? wouldChange(step) : undefined;
  return {
    id: step.id,
    kind: step.kind,
    node: step.node,
    forNode: step.forNode,
    state: step.state,
    attempt: step.attempt,
    maxAttempts: step.retry.maxAttempts,
    dependsOn: step.dependsOn,
    bestEffort: step.bestEffort,
    changed: step.changed,
    dispatchedAt: iso(step.dispatchedAt),
    startedAt: iso(step.startedAt),
    finishedAt: iso(step.finishedAt),
    nextAttemptAt: iso(step.nextAttemptAt),
    ...(planned ? { wouldChange: planned } : {}),
    ...(stepKindsWithReport.has(step.kind) && step.outputs['report'] ? { report: step.outputs['report'] } : {}),
    error: step.error ? errorToReply(step.error) : null,
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      finishedAt: iso(a.finishedAt),
      retryAt: iso(a.nextAttemptAt),
      error: errorToReply(a.error),
    })),
  };
}

/** One Server-Sent Event; `data` is the event as JSON on one line. */
export function sseFrame(event: RunEvent): string {
  const data = {
    id: event.id,
    runId: event.runId,
    at: new Date(event.at).toISOString(),
    type: event.type,
    stepId: event.stepId,
    node: event.node,
    attempt: event.attempt,
    state: event.state,
    message: redactSecrets(event.message),
  };
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function runsRoutes(deps: { store: Store; scheduler: Scheduler; bus: RunEventBus }): ApiPlugin {
  const find = (id: string) => {
    const run = deps.store.runs.get(id);
    if (!run) throw new KubehaError(ErrorCode.notFound, `no run ${id}`);
    return run;
  };
  return (app) => {
    // Live event streams are hijacked from fastify: end them so that closing the API does not wait on them.
    const openStreams = new Set<() => void>();
    app.addHook('preClose', async () => {
      for (const end of [...openStreams]) end();
    });
    app.get(
      '/v1/runs',
      {
        schema: {
          summary: 'Runs, oldest first; with ?cluster=, that cluster’s (404 when there is no such cluster)',
          querystring: Type.Object({ cluster: Type.Optional(Type.String({ maxLength: 63 })) }),
          response: { 200: Type.Object({ runs: Type.Array(RunReply) }), ...clientErrorReplies },
        },
      },
      async (request) => {
        const { cluster } = request.query;
        // One rule for a name that does not exist, as GET /v1/clusters/:name/… has: 404, not an empty list.
        if (cluster !== undefined && !deps.store.clusters.get(cluster)) {
          throw new KubehaError(ErrorCode.notFound, `no cluster ${cluster}`);
        }
        return { runs: deps.store.runs.list(cluster).map(runToReply) };
      },
    );
    app.get(
      '/v1/runs/:id',
      {
        schema: {
          summary: 'A run with every step: node, state, attempt, timings, error',
          params: IdParams,
          response: { 200: RunDetailReply, ...clientErrorReplies },
        },
      },
      async (request) => {
        const run = find(request.params.id);
        const attempts = deps.store.steps.attemptErrors(run.id);
        return {
          ...runToReply(run),
          lastEventId: deps.store.events.lastId(run.id),
          steps: deps.store.steps
            .list(run.id, false)
            .map((s) => stepToReply(s, attempts.get(s.id), run.kind === 'plan')),
        };
      },
    );
    app.post(
      '/v1/runs/:id/cancel',
      {
        schema: {
          summary: 'Cancel a run: no new step starts, running steps are told to stop',
          params: IdParams,
          response: { 200: RunReply, 409: ErrorReply, ...clientErrorReplies },
        },
      },
      async (request) => {
        find(request.params.id);
        request.log.info({ runId: request.params.id }, 'run cancelled');
        return runToReply(deps.scheduler.cancel(request.params.id));
      },
    );
    app.get(
      '/v1/runs/:id/events',
      {
        schema: {
          summary:
            'The run’s events as Server-Sent Events: the stored log after Last-Event-ID (header, or ?lastEventId=), then live ' +
            'events; the stream ends after the run’s final event',
          params: IdParams,
          // A query string is text (the API does not coerce types): the same digits the header takes.
          querystring: Type.Object({ lastEventId: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })) }),
          headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })) }),
          response: {
            200: Type.String({ description: 'text/event-stream; each event: id, event (run|step|log), data (JSON)' }),
            ...clientErrorReplies,
          },
        },
      },
      async (request, reply) => {
        const run = find(request.params.id);
        const header = request.headers['last-event-id'];
        let lastSent = Number(header ?? request.query.lastEventId ?? 0);
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        let replaying = true;
        let ended = false;
        const buffered: RunEvent[] = [];
        const end = () => {
          if (ended) return;
          ended = true;
          openStreams.delete(end);
          unsubscribe();
          clearInterval(keepAlive);
          raw.end();
        };
        const write = (event: RunEvent) => {
          if (ended || event.id <= lastSent) return;
          lastSent = event.id;
          raw.write(sseFrame(event));
          if (event.type === 'run' && event.state !== null && isRunFinished(event.state)) end();
        };
        // Subscribe before reading the log, so nothing falls between the replay and the live events.
        const unsubscribe = deps.bus.subscribe(run.id, (event) => (replaying ? buffered.push(event) : write(event)));
        const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
        raw.on('close', end);
        openStreams.add(end);
        raw.write('retry: 1000\n\n');
        for (;;) {
          const page = deps.store.events.after(run.id, lastSent, 1_000);
          for (const event of page) write(event);
          if (page.length < 1_000 || ended) break;
        }
        replaying = false;
        for (const event of buffered) write(event);
        const current = deps.store.runs.get(run.id);
        if (!ended && current && isRunFinished(current.state)) end();
      },
    );
  };
}
