import { EventEmitter } from 'node:events';
import type { RunEvent } from '../store/store.ts';

/** Publishes a run's events, after they are stored, to live readers (the SSE stream). */
export class RunEventBus {
  private readonly emitter = new EventEmitter();
  private subscribed = 0;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(event: RunEvent): void {
    this.emitter.emit(event.runId, event);
  }

  subscribe(runId: string, listener: (event: RunEvent) => void): () => void {
    this.emitter.on(runId, listener);
    this.subscribed++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.subscribed--;
      this.emitter.off(runId, listener);
    };
  }

  /** Live readers now (each SSE stream is one). */
  get subscribers(): number {
    return this.subscribed;
  }
}
