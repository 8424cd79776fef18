// What a day-2 scenario of the lab may use: the deployed lab cluster, the real CLI and API in the admin node, the
// real kubectl and etcdctl in a control plane, nodes added or killed while the cluster runs, and a client's view of
// /readyz through the VIP. A scenario returns the figures it measured; its check() asserts on them.
import type { LabNode, RunResult } from '../lab-node.ts';

export interface EndpointWatchResult {
  /** The longest time /readyz through the VIP did not answer, in seconds (0.1 s resolution). */
  longestGapS: number;
  probes: number;
  failedProbes: number;
  /** The last probe answered. */
  recovered: boolean;
  /** Each outage, longest first: when it began (ms since the epoch) and how long it lasted. */
  outages: { fromMs: number; ms: number }[];
}

export interface EndpointWatch {
  stop(): EndpointWatchResult;
}

export interface Day2Lab {
  /** The cluster's nodes as the spec names them now (addNode appends, forgetNode removes). */
  readonly controlPlanes: readonly LabNode[];
  readonly workers: readonly LabNode[];
  /** The node the coordinator and the CLI run in. */
  readonly admin: LabNode;
  readonly vip: string;
  readonly endpointPort: number;
  /** The cluster's name in the coordinator. */
  readonly clusterName: string;
  log(line: string): void;
  /** The real `kubeha` CLI in the admin node, its output shown live; true when it exits 0. */
  cli(args: string[], onLine?: (line: string) => void): Promise<boolean>;
  /** The coordinator's REST API with the admin token; the parsed JSON reply. */
  api(method: string, path: string, body?: unknown): Promise<unknown>;
  /** The real kubectl with admin.conf (through the VIP) in `on`, by default the first control plane not killed. */
  kubectl(args: string[], on?: LabNode): Promise<RunResult>;
  /** The real etcdctl inside the etcd container of `on` (default as for kubectl), with the etcd client TLS flags. */
  etcdctl(args: string[], on?: LabNode): Promise<RunResult>;
  /** Writes the spec of the lab's current nodes to /root/cluster.yaml in the admin node; returns that path. */
  writeSpec(): string;
  /** A new lab node (the next cpN or wN), its agent enrolled and connected; the spec names it from now on. */
  addNode(role: 'control-plane' | 'worker'): Promise<LabNode>;
  /** The node's link down, then every process killed: a machine that died. The spec still names it. */
  killNode(node: LabNode): Promise<void>;
  /** The live control planes that have the VIP on their interface now. */
  vipHolders(): string[];
  /** The node the endpoint watcher's neighbour entry for the VIP points at ('none', 'unresolved' without a MAC). */
  vipNeighbour(): string;
  /** The spec no longer names the node (the lab still tears it down at the end). */
  forgetNode(node: LabNode): void;
  /** The coordinator SIGKILLed and started again on its own data directory. */
  restartCoordinator(): Promise<void>;
  /** Probes https://VIP:PORT/readyz from a live worker (else a live control plane) every 50 ms until stopped. */
  watchEndpoint(): EndpointWatch;
  /** Polls `probe` every 0.5 s until it is true; throws "WHAT: not after N s". */
  until(what: string, seconds: number, probe: () => Promise<boolean>): Promise<void>;
}

export interface Day2Scenario {
  /** Its name on `npm run lab -- --day2 NAME` and its key in the report's `day2`. */
  name: string;
  /** What it does, for `npm run lab -- --help`. */
  summary: string;
  /** Runs on the deployed, verified lab cluster; throws when it cannot go on. Returns what it measured. */
  run(lab: Day2Lab): Promise<Record<string, unknown>>;
  /** vitest assertions on what run() returned (test/lab/lab-day2.test.ts calls it). */
  check(result: Record<string, unknown>): void;
}
