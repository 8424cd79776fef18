import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { bootstrapTokenProblem } from '../pki/bootstrap-tokens.ts';
import { AgentsWithLiveHeartbeats } from './live-heartbeats.ts';
import { migrate } from './migrations.ts';
import type {
  AgentRecord,
  AgentStore,
  ClusterStore,
  ClusterValueStore,
  EnrollmentRecord,
  NodeBindingStore,
  RunEventStore,
  RunStore,
  SnapshotRecordStore,
  StepStore,
  Store,
  TokenStore,
} from './store.ts';
import { agentsTable } from './tables/agents-table.ts';
import { bindingsTable } from './tables/bindings-table.ts';
import { clustersTable, clusterValuesTable } from './tables/clusters-table.ts';
import { etcdSnapshotsTable } from './tables/etcd-snapshots-table.ts';
import { runEventsTable, runsTable } from './tables/runs-table.ts';
import type { SqlAccess } from './tables/sql-access.ts';
import { stepsTable } from './tables/steps-table.ts';
import { tokensTable } from './tables/tokens-table.ts';

/**
 * The embedded store: one SQLite file in WAL mode through node:sqlite, brought to the current schema version when
 * opened (migrations.ts). Each table's statements live in tables/.
 */
export class SqliteStore implements Store, SqlAccess {
  readonly db: DatabaseSync;
  readonly agents: AgentStore;
  readonly tokens: TokenStore;
  readonly clusters: ClusterStore;
  readonly clusterValues: ClusterValueStore;
  readonly bindings: NodeBindingStore;
  readonly runs: RunStore;
  readonly steps: StepStore;
  readonly events: RunEventStore;
  readonly snapshots: SnapshotRecordStore;
  private readonly agentRows: ReturnType<typeof agentsTable>;
  private readonly tokenRows: ReturnType<typeof tokensTable>;
  private transactionDepth = 0;
  private readonly statements = new Map<string, StatementSync>();

  private readonly observeTransaction: ((seconds: number, committed: boolean) => void) | undefined;

  /** `observeTransaction` is told how long each outermost write transaction took, up to its COMMIT or ROLLBACK. */
  constructor(path: string, options: { observeTransaction?: (seconds: number, committed: boolean) => void } = {}) {
    this.observeTransaction = options.observeTransaction;
    const onDisk = path !== ':memory:' && path !== '' && !path.startsWith('file:');
    // SQLite creates the WAL and shared-memory files with the database file's mode, so 0600 here covers them too.
    if (onDisk) closeSync(openSync(path, 'a', 0o600));
    if (onDisk) chmodSync(path, 0o600);
    this.db = new DatabaseSync(path);
    this.db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
    );
    if (onDisk) {
      for (const companion of [`${path}-wal`, `${path}-shm`]) if (existsSync(companion)) chmodSync(companion, 0o600);
    }
    try {
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.agentRows = agentsTable(this);
    this.tokenRows = tokensTable(this);
    this.agents = new AgentsWithLiveHeartbeats(this.agentRows, (fn) => this.transaction(fn));
    this.tokens = this.tokenRows;
    this.clusters = clustersTable(this);
    this.clusterValues = clusterValuesTable(this);
    this.bindings = bindingsTable(this);
    this.runs = runsTable(this);
    this.steps = stepsTable(this);
    this.events = runEventsTable(this);
    this.snapshots = etcdSnapshotsTable(this);
  }

  transaction<T>(fn: () => T): T {
    if (this.transactionDepth > 0) return fn();
    const started = this.observeTransaction ? performance.now() : 0;
    let committed = false;
    this.db.exec('BEGIN IMMEDIATE');
    this.transactionDepth++;
    try {
      const result = fn();
      this.db.exec('COMMIT');
      committed = true;
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    } finally {
      this.transactionDepth--;
      this.observeTransaction?.((performance.now() - started) / 1000, committed);
    }
  }

  enrollAgent(record: EnrollmentRecord): AgentRecord {
    return this.transaction(() => {
      const problem = bootstrapTokenProblem(this.tokens.get(record.tokenId), record.tokenSecret, record.now);
      if (problem) throw problem;
      this.tokenRows.countUse(record.tokenId);
      const agent: AgentRecord = { ...record.agent, enrolledWithTokenId: record.tokenId };
      this.agentRows.insert(agent);
      const scope = this.bindings.tokenScope(record.tokenId);
      if (scope !== undefined) this.bindings.approve(agent.id, scope, record.now);
      return agent;
    });
  }

  /** Prepared once, reused: the scheduler's hot paths run the same few statements thousands of times. */
  statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Writes the heartbeats held in memory first: a coordinator that stops keeps when each agent was last heard. */
  close(): void {
    if (!this.db.isOpen) return;
    this.agents.flushHeartbeats();
    this.db.close();
  }
}
