import type { AgentHealth, AgentHeartbeat, AgentRecord, AgentStore, AgentUpdate } from './store.ts';

/** The agents table as stored, without the heartbeats held in memory. */
export type AgentRows = Omit<AgentStore, 'heartbeat' | 'flushHeartbeats'>;

interface HeldHeartbeat {
  beat: AgentHeartbeat;
  /** Newer than the agent's row. */
  unwritten: boolean;
}

/** What an operator reads of an agent's health; the probe's age changes with every heartbeat and is not part of it. */
function verdictOf(health: AgentHealth | null): string {
  return health === null ? '' : `${health.agentOk}/${health.vrrpHealthy}/${health.vrrpReason}`;
}

function heartbeatColumns(beat: AgentHeartbeat): AgentUpdate {
  return { lastHeartbeatAt: beat.at, holdsVip: beat.holdsVip, health: beat.health };
}

/**
 * The agents table with the heartbeats of connected agents held in memory. Every connected agent heartbeats every few
 * seconds (1,000 a second at 5,000 agents); writing each one costs a SQLite UPDATE, while all a restart needs of them
 * is the last time each agent was heard and what it said. So a heartbeat that changes nothing an operator sees stays in
 * memory, is read back by get() and list() at once, and reaches the row with the next flush (the coordinator flushes
 * every few tens of seconds, and when it stops), with any other update of the agent, or when the agent disconnects;
 * a disconnected agent holds no memory here.
 */
export class AgentsWithLiveHeartbeats implements AgentStore {
  private readonly rows: AgentRows;
  private readonly transaction: (fn: () => void) => void;
  private readonly held = new Map<string, HeldHeartbeat>();

  constructor(rows: AgentRows, transaction: (fn: () => void) => void) {
    this.rows = rows;
    this.transaction = transaction;
  }

  get(id: string): AgentRecord | undefined {
    const row = this.rows.get(id);
    return row && this.withHeld(row);
  }

  list(): AgentRecord[] {
    return this.rows.list().map((row) => this.withHeld(row));
  }

  update(id: string, update: AgentUpdate): void {
    const held = this.held.get(id);
    if (!held) {
      this.rows.update(id, update);
      return;
    }
    // The row is written anyway: the held heartbeat goes with it, overridden by whatever the update says.
    const beat: AgentHeartbeat = {
      at: update.lastHeartbeatAt ?? held.beat.at,
      holdsVip: update.holdsVip ?? held.beat.holdsVip,
      health: update.health === undefined ? held.beat.health : update.health,
    };
    this.rows.update(id, held.unwritten ? { ...heartbeatColumns(held.beat), ...update } : update);
    if (update.connected === false || update.revokedAt != null) this.held.delete(id);
    else this.held.set(id, { beat, unwritten: false });
  }

  heartbeat(id: string, beat: AgentHeartbeat): void {
    const held = this.held.get(id);
    if (held && held.beat.holdsVip === beat.holdsVip && verdictOf(held.beat.health) === verdictOf(beat.health)) {
      held.beat = beat;
      held.unwritten = true;
      return;
    }
    this.rows.update(id, heartbeatColumns(beat));
    this.held.set(id, { beat, unwritten: false });
  }

  flushHeartbeats(): number {
    const due = [...this.held].filter(([, held]) => held.unwritten);
    if (due.length === 0) return 0;
    this.transaction(() => {
      for (const [id, held] of due) this.rows.update(id, heartbeatColumns(held.beat));
    });
    for (const [, held] of due) held.unwritten = false;
    return due.length;
  }

  markAllDisconnected(): void {
    this.flushHeartbeats();
    this.held.clear();
    this.rows.markAllDisconnected();
  }

  countEnrolled(): number {
    return this.rows.countEnrolled();
  }

  private withHeld(row: AgentRecord): AgentRecord {
    const held = this.held.get(row.id);
    return held
      ? { ...row, lastHeartbeatAt: held.beat.at, holdsVip: held.beat.holdsVip, health: held.beat.health }
      : row;
  }
}
