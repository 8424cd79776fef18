import type { MessageToAgent } from '../../proto/convert.ts';
import type { RunEvent, StepRecord, StepUpdate, Store } from '../store/store.ts';
import type { ActiveRun } from './active-run.ts';
import type { AgentOutbox, SendOptions } from './agent-outbox.ts';
import type { Values } from './cluster-values.ts';
import type { RunEventBus } from './run-event-bus.ts';
import { addDependent, raiseHeights } from './step-decisions.ts';

export type NewRunEvent = Partial<Omit<RunEvent, 'id' | 'runId' | 'at'>> & Pick<RunEvent, 'type' | 'message'>;

/**
 * How the scheduler writes: every change to a run goes through record(), one transaction whose events are published,
 * and whose messages to agents are sent, only once it has committed.
 */
export class RunJournal {
  private readonly store: Store;
  private readonly bus: RunEventBus;
  private readonly outbox: AgentOutbox;
  private readonly now: () => number;
  private pendingEvents: RunEvent[] = [];
  private depth = 0;

  constructor(deps: { store: Store; bus: RunEventBus; outbox: AgentOutbox; now: () => number }) {
    this.store = deps.store;
    this.bus = deps.bus;
    this.outbox = deps.outbox;
    this.now = deps.now;
  }

  /**
   * Runs fn in one transaction (nested calls join the outer one); its events are published, and its messages to
   * agents sent, only once it has committed.
   */
  record(fn: () => void): void {
    if (this.depth > 0) {
      fn();
      return;
    }
    this.depth++;
    this.outbox.hold();
    try {
      this.store.transaction(fn);
    } catch (error) {
      this.pendingEvents = [];
      this.outbox.discard();
      throw error;
    } finally {
      this.depth--;
    }
    const events = this.pendingEvents;
    this.pendingEvents = [];
    for (const e of events) this.bus.publish(e);
    this.outbox.release();
  }

  event(runId: string, event: NewRunEvent): void {
    this.pendingEvents.push(
      this.store.events.append({
        runId,
        at: this.now(),
        stepId: null,
        node: null,
        attempt: null,
        state: null,
        ...event,
      }),
    );
  }

  stepEvent(active: ActiveRun, step: StepRecord, state: string, message: string): void {
    this.event(active.run.id, {
      type: 'step',
      stepId: step.id,
      node: step.node,
      attempt: step.attempt,
      state,
      message,
    });
  }

  updateStep(active: ActiveRun, step: StepRecord, update: StepUpdate): void {
    this.store.steps.update(active.run.id, step.id, update);
    Object.assign(step, update);
    const height = active.heights.get(step.id) ?? 0;
    for (const d of update.dependsOn ?? []) raiseHeights(active.heights, active.steps, d, height + 1);
    if (update.dependsOn) addDependent(active.dependents, step.id, update.dependsOn);
  }

  insertSteps(active: ActiveRun, steps: StepRecord[]): void {
    this.store.steps.insert(steps);
    for (const s of steps) {
      active.steps.set(s.id, s);
      if (!active.heights.has(s.id)) active.heights.set(s.id, 0);
      for (const d of s.dependsOn) raiseHeights(active.heights, active.steps, d, active.heights.get(s.id)! + 1);
      addDependent(active.dependents, s.id, s.dependsOn);
      active.nextSeq = Math.max(active.nextSeq, s.seq + 1);
      this.stepEvent(active, s, 'pending', `${s.id} added for ${s.forNode ?? s.node}`);
    }
  }

  /** Sends once the open transaction commits (at once outside one); onFailure runs when the agent is not connected. */
  deliver(agentId: string, message: MessageToAgent | (() => MessageToAgent), options: SendOptions = {}): void {
    this.outbox.send(agentId, message, options);
  }

  valuesOf(cluster: string): Values {
    return { get: (name) => this.store.clusterValues.get(cluster, name) };
  }
}
