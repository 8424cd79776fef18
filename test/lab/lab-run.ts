// The lab's flow: lab nodes on a bridge, the real coordinator in an admin node, the real agents enrolled in every
// cluster node, `kubeha apply` of the lab's cluster spec with its live progress, /readyz through the VIP,
// `kubeha verify`, `kubeha drill failover` watched from outside, and a report with the time of each phase.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type EtcdMember,
  etcdctlTls,
  findEtcdContainerArgs,
  parseEndpointStatus,
  parseMemberList,
} from '../../agent/kubeadm/etcdctl.ts';
import type { FailoverDrillReport } from '../../coordinator/drill/failover-drill.ts';
import type { Day2Lab, Day2Scenario, EndpointWatch } from './day2/day2-scenario.ts';
import { type RealPrograms, realPrograms } from './kube-binaries.ts';
import { openFirewalldPorts } from './lab-firewalld.ts';
import { LabNetwork } from './lab-network.ts';
import { type LabNode, projectRoot, type RunResult } from './lab-node.ts';
import { VipWatch, type VipWatchResult } from './vip-watch.ts';

export interface LabOptions {
  controlPlanes: number;
  workers: number;
  /** The first three octets of the lab's /24. */
  subnet: string;
  /** Kill the coordinator (SIGKILL) once the deploy has started the first kubeadm step, then start it again. */
  restartCoordinatorMidDeploy: boolean;
  skipDrill: boolean;
  /** How many times `kubeha drill failover` runs (each drills every action of the endpoint mode once). */
  drillRounds?: number;
  /** The spec's endpoint mode: HAProxy on 16443 in front of the apiservers (default) or the VIP on the apiservers' 6443. */
  endpointMode?: 'haproxy-keepalived' | 'keepalived' | undefined;
  /** A joining control plane whose first `kubeadm join` is killed once its etcd member is added (real lab only). */
  failJoin?: string | undefined;
  /** A cluster node that drops forwarded pod traffic before verify (real lab only): verify must name it. */
  podTrafficFault?: string | undefined;
  /** The real Kubernetes programs to run; undefined runs the stand-in lab. */
  realBinaries?: RealPrograms | undefined;
  /** Point every package repository, registry, image repository and the CNI manifest at mirrors in the admin node. */
  mirrors?: boolean;
  /** Day-2 scenarios run in this order on the deployed cluster, after the drill (test/lab/day2/). */
  day2?: Day2Scenario[];
  log: (line: string) => void;
}

export interface DrillAgreement {
  action: string;
  node: string;
  coordinator_outage_s: number;
  watcher_gap_s: number;
  /** |coordinator - watcher|, in seconds. */
  difference_s: number;
  coordinator_no_holder_s: number;
  coordinator_two_holders_s: number;
  coordinator_clock_spread_ms: number;
  /**
   * The order of holders (nobody left out), e.g. ["cp1", "cp2", "cp1"], of the holder sets that lasted at least
   * `watcher_resolution_ms`: a shorter one can fall between two of the watcher's samples.
   */
  coordinator_holders: string[];
  /** Every holder set the agents reported, however short (a backup that won the VRRP race for a moment, say). */
  coordinator_holders_all: string[];
  watcher_holders: string[];
  /** The longest time between two of the watcher's samples of one control plane in the action's window. */
  watcher_resolution_ms: number;
  holders_agree: boolean;
}

/** One `kubeha plan -f /root/cluster.yaml` of the lab's spec. */
export interface PlanCheck {
  exit_ok: boolean;
  run_id: string;
  seconds: number;
  /** It said the spec is the one last applied (no difference). */
  same_spec: boolean;
  /** Steps whose dry run listed something to change, and the nodes they are on. */
  would_change: string[];
  nodes_with_changes: string[];
  /** Best-effort dry runs that could not tell (the CNI step before the cluster exists). */
  cannot_tell: string[];
  /**
   * Files the deploy writes (repositories, containerd, keepalived, HAProxy, kubeconfigs, /etc/hosts) that differ on
   * a node after the plan from before it, "NODE:PATH": a plan changes nothing, so none. (A plan run's steps report
   * `changed` for what they would change, so the run cannot say this itself.)
   */
  node_files_changed: string[];
}

export interface LabReport {
  run_succeeded: boolean;
  phases: { name: string; seconds: number; ok: boolean }[];
  failover_gap_s: number | null;
  vip_holders_max: number | null;
  verify_ok: boolean;
  /** The second `kubeha apply` of the same spec: its exit, its "up to date" line, the steps that changed anything. */
  reapply: {
    exit_ok: boolean;
    up_to_date: boolean;
    seconds: number;
    changed_steps: string[];
    step_kinds: string[];
  } | null;
  readyz_through_vip: boolean;
  /**
   * `kubeha plan` before the apply (per node what would change, nothing changed) and after it (no difference, nothing
   * to change); `deploy_left_undone`: steps the first plan said would change that the deploy then found up to date
   * (what a plan that changed a node would leave behind), none.
   */
  plan: { before: PlanCheck | null; after: PlanCheck | null; deploy_left_undone: string[] | null };
  /** With mirrors: what each node was configured with, and what did not point at the mirrors. */
  mirrors: { checked: string[]; problems: string[] } | null;
  vip_holders: string[][];
  /** After the drill, /readyz through the VIP answered again. */
  endpoint_recovered: boolean | null;
  /**
   * The VIP from the deploy's start to the drill, as the lab's watcher saw it on the control planes' interfaces:
   * when it was first held after the first load-balancer step succeeded, and from then on the time with no holder
   * and with two (both must be 0).
   */
  deploy_vip: {
    first_held_after_lb_s: number | null;
    watched_s: number;
    without_holder_ms: number;
    with_two_ms: number;
    holders: string[][];
  } | null;
  /** Each drilled action: the coordinator's figures beside the lab watcher's over the same window. */
  drill_agreement: DrillAgreement[];
  coordinator_restarted: boolean;
  /** The programs that ran for real in the cluster nodes (the rest were the lab's stand-ins). */
  real_components: string[];
  kubernetes_version: string;
  /** Nodes Ready as the real kubectl lists them through the VIP; null in the stand-in lab or before the deploy. */
  nodes_ready: number | null;
  /** Voting members of the real etcd (learners not counted); null in the stand-in lab or before the deploy. */
  etcd_voting_members: number | null;
  /** The real etcd's learners, and how many members call themselves leader; null in the stand-in lab. */
  etcd_learners: number | null;
  etcd_leaders: number | null;
  /** The Leases in kube-system that have a holder: kube-controller-manager and kube-scheduler elect through them. */
  leases_held: string[];
  /** --fail-join: the etcd member the killed join added, whether the real member list lost it, and the retry. */
  failed_join?: { node: string; member_id: string; member_removed: boolean; retried: boolean };
  /** --pod-traffic-fault: what verify said while the node dropped pod traffic. */
  pod_traffic_fault?: { node: string; verify_ok: boolean; failed_pairs: string[] };
  /** Each day-2 scenario's figures by name, or `{ error }` when it threw (the next scenario still runs). */
  day2: Record<string, Record<string, unknown>>;
  /** The lab's id and its nodes' network-namespace inodes, to check that nothing of it is left. */
  lab: { id: string; netns_inodes: number[] };
  stopped_at?: string;
  error?: string;
}

const apiPort = 7444;
const failJoinMarker = '/var/lib/khlab-fail-join.done';
const failJoinMembers = '/var/lib/khlab-fail-join.members.json';
const standInKubernetesVersion = '1.34.4';
/** What runs for real in every lab. */
const alwaysReal = ['kubeha-coordinator', 'kubeha-agent', 'kubeha', 'keepalived', 'haproxy'];
const grpcPort = 7443;
const clusterName = 'lab';
const mirrorPort = 8080;
/** Nothing listens there: the stand-in containerd pulls nothing; the nodes are only configured to ask it. */
const registryPort = 5000;
const mirrorLog = '/var/log/kubeha-mirror-requests.log';
const flannelPath = '/flannel/v0.26.1/kube-flannel.yml';
/** What the deploy writes on a node: a plan must leave each as it was. */
const filesTheDeployWrites = [
  '/etc/hosts',
  '/etc/yum.repos.d/kubernetes.repo',
  '/etc/yum.repos.d/docker-ce.repo',
  '/etc/containerd/config.toml',
  '/etc/keepalived/keepalived.conf',
  '/etc/haproxy/haproxy.cfg',
  '/etc/kubernetes/admin.conf',
  '/etc/kubernetes/kubelet.conf',
];

/** What went wrong in a drill, action by action, from its report: what the CLI's exit status alone does not say. */
export function drillProblems(report: FailoverDrillReport): string {
  const failed = report.actions.filter((a) => !a.ok);
  if (failed.length === 0) return `${report.actions.length} action(s) reported, none failed`;
  return failed.map((a) => `${a.action} on ${a.initialHolder ?? '?'}: ${a.problems.join(', ')}`).join('; ');
}

export class LabRun implements Day2Lab {
  readonly network: LabNetwork;
  readonly options: LabOptions;
  admin!: LabNode;
  controlPlanes: LabNode[] = [];
  workers: LabNode[] = [];
  adminToken = '';
  readonly vip: string;
  readonly kubernetesVersion: string;
  readonly endpointPort: number;
  private readonly report: LabReport = {
    run_succeeded: false,
    phases: [],
    failover_gap_s: null,
    vip_holders_max: null,
    verify_ok: false,
    reapply: null,
    readyz_through_vip: false,
    plan: { before: null, after: null, deploy_left_undone: null },
    mirrors: null,
    vip_holders: [],
    endpoint_recovered: null,
    deploy_vip: null,
    drill_agreement: [],
    coordinator_restarted: false,
    real_components: [],
    kubernetes_version: '',
    nodes_ready: null,
    etcd_voting_members: null,
    etcd_learners: null,
    etcd_leaders: null,
    leases_held: [],
    day2: {},
    lab: { id: '', netns_inodes: [] },
  };
  readonly clusterName = clusterName;
  /** Nodes killed by a day-2 scenario (killNode): nothing is run in them any more. */
  private readonly deadNodes = new Set<LabNode>();

  constructor(options: LabOptions) {
    this.options = options;
    this.network = LabNetwork.create({
      id: randomBytes(3).toString('hex'),
      subnet: options.subnet,
      ...(options.realBinaries ? { realBinaries: options.realBinaries } : {}),
    });
    this.vip = `${options.subnet}.100`;
    this.endpointPort = options.endpointMode === 'keepalived' ? 6443 : 16443;
    this.kubernetesVersion = options.realBinaries?.kubernetesVersion ?? standInKubernetesVersion;
    this.report.kubernetes_version = this.kubernetesVersion;
    this.report.real_components = [
      ...alwaysReal,
      ...(options.realBinaries ? realPrograms.filter((p) => p !== 'etcdutl') : []),
    ];
  }

  private async phase<T>(name: string, body: () => Promise<T>): Promise<T> {
    const started = Date.now();
    this.options.log(`\n== ${name}`);
    try {
      const result = await body();
      const ok = result !== false;
      this.report.phases.push({ name, seconds: (Date.now() - started) / 1000, ok });
      if (!ok) this.report.stopped_at ??= name;
      return result;
    } catch (error) {
      this.report.phases.push({ name, seconds: (Date.now() - started) / 1000, ok: false });
      this.report.stopped_at ??= name;
      throw error;
    }
  }

  get clusterNodes(): LabNode[] {
    return [...this.controlPlanes, ...this.workers];
  }

  /** The lab from nodes to report; the report is returned also when a phase failed (with stopped_at and error). */
  async run(): Promise<LabReport> {
    try {
      await this.phase('lab nodes', () => this.buildNodes());
      await this.phase('coordinator', () => this.startCoordinator());
      if (this.options.mirrors) await this.phase('mirrors in the admin node', () => this.startMirrors());
      await this.phase('enroll agents', () => this.enrollAgents());
      const planned = await this.phase('plan before the apply (kubeha plan)', () => this.planCheck('before'));
      if (!planned) throw new Error('kubeha plan before the apply did not list the changes, or changed something');
      this.report.run_succeeded = await this.phase('deploy (kubeha apply)', () => this.deploy());
      if (!this.report.run_succeeded) throw new Error('the deploy run did not succeed');
      if (this.options.mirrors) {
        const used = await this.phase('every node used the mirrors', async () => this.checkMirrors());
        if (!used) throw new Error(`the mirrors were not used: ${this.report.mirrors?.problems.join('; ')}`);
      }
      this.report.readyz_through_vip = await this.phase('readyz through the VIP', () => this.readyzThroughVip());
      if (this.options.podTrafficFault) {
        const shown = await this.phase(`verify names the pod-traffic fault on ${this.options.podTrafficFault}`, () =>
          this.verifyShowsPodTrafficFault(this.network.node(this.options.podTrafficFault!)),
        );
        if (!shown) throw new Error(`verify did not report the pod-traffic fault on ${this.options.podTrafficFault}`);
      }
      this.report.verify_ok = await this.phase('verify (kubeha verify)', () => this.cli(['verify', clusterName]));
      if (this.options.realBinaries) {
        await this.phase('the real control plane (kubectl, etcdctl)', () => this.inspectRealControlPlane());
      }
      if (!this.report.readyz_through_vip || !this.report.verify_ok) throw new Error('the cluster is not healthy');
      const reapplied = await this.phase('apply the same spec again', () => this.reapply());
      if (!reapplied) throw new Error('applying the same spec again was not an "up to date" no-op');
      const replanned = await this.phase('plan after the apply (kubeha plan)', () => this.planCheck('after'));
      if (!replanned) throw new Error('kubeha plan of the deployed cluster found a difference or something to change');
      this.checkDeployVip();
      if (!this.options.skipDrill) {
        const watched = await this.phase('failover drill (kubeha drill failover)', () => this.drill());
        this.report.failover_gap_s = watched.longestGapS;
        this.report.vip_holders_max = watched.holdersMax;
        this.report.vip_holders = watched.holderHistory;
        this.report.endpoint_recovered = watched.recovered;
      }
      for (const scenario of this.options.day2 ?? []) await this.day2(scenario);
    } catch (error) {
      this.report.error = error instanceof Error ? error.message : String(error);
      this.options.log(`\nthe lab stopped at "${this.report.stopped_at ?? 'setup'}": ${this.report.error}`);
    } finally {
      this.vipWatch?.stop();
    }
    return this.report;
  }

  private async buildNodes(): Promise<void> {
    const { subnet, controlPlanes, workers, log } = this.options;
    this.report.lab.id = this.network.id;
    log(`network namespaces ${this.network.prefix}* on a bridge in ${this.network.bridgeNetns}, ${subnet}.0/24`);
    this.admin = await this.network.addNode('admin', 2);
    for (let i = 1; i <= controlPlanes; i++) this.controlPlanes.push(await this.network.addNode(`cp${i}`, 10 + i));
    for (let i = 1; i <= workers; i++) this.workers.push(await this.network.addNode(`w${i}`, 20 + i));
    for (const node of this.network.nodes) log(`  ${node.name.padEnd(6)} ${node.address.padEnd(15)} ${node.netns}`);
    this.report.lab = { id: this.network.id, netns_inodes: this.network.nodes.map((n) => n.netnsInode) };
    if (this.options.failJoin) this.injectFailedJoin(this.network.node(this.options.failJoin));
  }

  /**
   * The node's first `kubeadm join` is killed as soon as kubeadm has written the etcd static pod, i.e. once its etcd
   * member was added: a join that died half way, which the coordinator must clean up (kubeadm reset there, the etcd
   * member removed through a healthy control plane) before it retries. The member list at that moment is kept.
   */
  private injectFailedJoin(node: LabNode): void {
    if (!this.network.realBin) throw new Error('--fail-join needs the real control plane');
    const first = this.controlPlanes[0]!;
    node.ownBin = join(node.dir, 'own-bin');
    mkdirSync(node.ownBin, { recursive: true });
    const etcdctl = `etcdctl --endpoints https://${first.address}:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key`;
    writeFileSync(
      join(node.ownBin, 'kubeadm'),
      `#!/bin/sh
# The lab's failed join (--fail-join): the first kubeadm join here is killed once its etcd member is added.
real=${this.network.realBin}/kubeadm
if [ "$1" != join ] || [ -e ${failJoinMarker} ]; then exec "$real" "$@"; fi
touch ${failJoinMarker}
"$real" "$@" &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  if [ -e /etc/kubernetes/manifests/etcd.yaml ]; then
    ${etcdctl} member list -w json >${failJoinMembers} 2>&1
    kill -9 "$pid"
    echo "lab --fail-join: kubeadm join killed after adding its etcd member" >&2
    exit 1
  fi
  sleep 0.2
done
wait "$pid"
`,
      { mode: 0o755 },
    );
  }

  private coordinatorPid = 0;

  private async startCoordinator(): Promise<void> {
    // The agents dial the coordinator's gRPC port through the admin node's firewalld; its REST API is loopback only.
    await openFirewalldPorts(this.admin, [`${grpcPort}/tcp`]);
    // nsenter, env and sh exec into the coordinator: this pid is the coordinator's.
    this.coordinatorPid = this.admin.daemon(
      'node',
      [
        `${projectRoot}/coordinator/main.ts`,
        '--grpc-listen',
        `${this.admin.address}:${grpcPort}`,
        '--api-listen',
        `127.0.0.1:${apiPort}`,
        '--san',
        this.admin.address,
        '--san',
        'admin',
      ],
      '/var/log/kubeha-coordinator.log',
    );
    await this.until('the coordinator API', 120, async () => {
      const r = await this.admin.run('curl', ['-sf', '--max-time', '1', `http://127.0.0.1:${apiPort}/healthz`]);
      return r.code === 0;
    });
    this.adminToken = readFileSync(this.admin.hostPath('/var/lib/kubeha-coordinator/admin-token'), 'utf8').trim();
    this.options.log(
      `kubeha-coordinator: gRPC ${this.admin.address}:${grpcPort}, REST 127.0.0.1:${apiPort} (in admin)`,
    );
  }

  /** SIGKILL, as a crash or an OOM kill would: the coordinator gets no chance to write anything more. */
  private async killCoordinator(): Promise<void> {
    const pid = this.coordinatorPid;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('coordinator/main.ts')) {
      throw new Error(`process ${pid} is not the lab's coordinator`);
    }
    process.kill(pid, 'SIGKILL');
    await this.until('the coordinator to be gone', 20, async () => !existsSync(`/proc/${pid}`));
  }

  async restartCoordinator(): Promise<void> {
    this.options.log('killing the coordinator (SIGKILL)');
    await this.killCoordinator();
    this.options.log('starting the coordinator again');
    await this.startCoordinator();
  }

  async api(method: string, path: string, body?: unknown): Promise<unknown> {
    const args = ['-sS', '--max-time', '10', '-X', method, '-H', `authorization: Bearer ${this.adminToken}`];
    if (body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', '@-');
    const r = await this.admin.run('curl', [...args, `http://127.0.0.1:${apiPort}${path}`], {
      ...(body === undefined ? {} : { input: JSON.stringify(body) }),
    });
    if (r.code !== 0) throw new Error(`${method} ${path}: curl exited ${r.code}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout);
  }

  private async enrollAgents(): Promise<void> {
    const nodes = this.clusterNodes;
    const hashes = await Promise.all(nodes.map((node) => this.enrollAgent(node)));
    await this.until('every agent to connect', 60, async () => {
      const { agents } = (await this.api('GET', '/v1/agents')) as { agents: { connected: boolean }[] };
      return agents.filter((a) => a.connected).length === nodes.length;
    });
    this.options.log(
      `${nodes.length} agents enrolled (one node-scoped token each) and connected; coordinator CA ${hashes[0] ?? ''}`,
    );
  }

  /** Enrolls the node's agent with a token scoped to it and starts it; returns the coordinator CA's hash. */
  private async enrollAgent(node: LabNode): Promise<string> {
    // One token per node, scoped to it: an agent serves only the node its token (or the operator) names.
    const token = (await this.api('POST', '/v1/tokens', { node: node.name, description: `lab ${node.name}` })) as {
      token: string;
      caCertHash: string;
    };
    const enrolled = await node.run('node', [
      `${projectRoot}/agent/main.ts`,
      'enroll',
      '--coordinator',
      `${this.admin.address}:${grpcPort}`,
      '--token',
      token.token,
      '--ca-cert-hash',
      token.caCertHash,
    ]);
    if (enrolled.code !== 0) throw new Error(`enrolling ${node.name}: ${enrolled.stderr.trim() || enrolled.stdout}`);
    node.daemon('node', [`${projectRoot}/agent/main.ts`, 'run'], '/var/log/kubeha-agent.log');
    return token.caCertHash;
  }

  private get mirrorUrl(): string {
    return `http://${this.admin.address}:${mirrorPort}`;
  }

  private get registryMirror(): string {
    return `${this.admin.address}:${registryPort}`;
  }

  private async startMirrors(): Promise<void> {
    await openFirewalldPorts(this.admin, [`${mirrorPort}/tcp`]);
    this.admin.daemon(
      'node',
      [`${projectRoot}/test/lab/mirror-server.ts`, String(mirrorPort), mirrorLog],
      '/var/log/kubeha-mirror-server.log',
    );
    // Asked from a cluster node, as the nodes will: through the admin node's firewalld.
    await this.until('the mirror', 60, async () => {
      const r = await this.controlPlanes[0]!.run('curl', ['-sf', '--max-time', '1', `${this.mirrorUrl}${flannelPath}`]);
      return r.code === 0;
    });
    this.options.log(`mirror: ${this.mirrorUrl} (packages, CNI manifest), registry mirror ${this.registryMirror}`);
  }

  private mirrorsSpec(): string {
    return `
  mirrors:
    kubernetesPackages: { baseUrl: "${this.mirrorUrl}/k8s/v${this.kubernetesVersion.split('.').slice(0, 2).join('.')}/rpm/", gpgKeyUrl: none }
    containerRuntimePackages: { baseUrl: "${this.mirrorUrl}/docker-ce/centos", gpgKeyUrl: none }
    imageRepository: "${this.registryMirror}/k8s"
    registries:
      - { registry: docker.io, endpoints: ["http://${this.registryMirror}"] }
      - { registry: registry.k8s.io, endpoints: ["http://${this.registryMirror}"] }`;
  }

  /**
   * Every node's package repositories, registry mirrors and pause image name the lab's mirrors (and never the public
   * homes), and the init node fetched the CNI manifest from the mirror. The stand-in dnf and containerd do not
   * download, so what is checked is what each node was told to fetch from.
   */
  private checkMirrors(): boolean {
    const checked: string[] = [];
    const problems: string[] = [];
    const expect = (node: LabNode, path: string, wanted: string) => {
      const text = existsSync(node.hostPath(path)) ? readFileSync(node.hostPath(path), 'utf8') : '';
      if (text.includes(wanted)) checked.push(`${node.name} ${path}: ${wanted}`);
      else problems.push(`${node.name} ${path} lacks ${wanted}`);
      for (const publicHome of ['pkgs.k8s.io', 'download.docker.com', 'registry.k8s.io/pause']) {
        if (text.includes(publicHome)) problems.push(`${node.name} ${path} names ${publicHome}`);
      }
    };
    for (const node of this.clusterNodes) {
      expect(
        node,
        '/etc/yum.repos.d/kubernetes.repo',
        `baseurl=${this.mirrorUrl}/k8s/v${this.kubernetesVersion.split('.').slice(0, 2).join('.')}/rpm/`,
      );
      expect(node, '/etc/yum.repos.d/docker-ce.repo', `baseurl=${this.mirrorUrl}/docker-ce/centos/`);
      expect(node, '/etc/containerd/certs.d/docker.io/hosts.toml', `http://${this.registryMirror}`);
      expect(node, '/etc/containerd/config.toml', `${this.registryMirror}/k8s/pause:`);
    }
    expect(
      this.controlPlanes[0]!,
      '/var/lib/kubeha/kubeadm/init-config.yaml',
      `imageRepository: "${this.registryMirror}/k8s"`,
    );
    const fetched = existsSync(this.admin.hostPath(mirrorLog))
      ? readFileSync(this.admin.hostPath(mirrorLog), 'utf8')
      : '';
    const first = this.controlPlanes[0]!;
    if (fetched.includes(`GET ${flannelPath} ${first.address} 200`))
      checked.push(`${first.name} fetched ${flannelPath}`);
    else
      problems.push(
        `${first.name} did not fetch ${flannelPath} from the mirror (mirror log: ${fetched.trim() || 'empty'})`,
      );
    this.report.mirrors = { checked, problems };
    this.options.log(
      `mirrors: ${checked.length} checks passed${problems.length ? `; problems: ${problems.join('; ')}` : ''}`,
    );
    return problems.length === 0;
  }

  /**
   * Drops the pod traffic NODE forwards (in or out of flannel.1) with an nft table of its own beside firewalld's, runs
   * verify, which must fail with failing pairs that all involve NODE, then removes the table (verify runs again next).
   */
  private async verifyShowsPodTrafficFault(node: LabNode): Promise<boolean> {
    const table = 'khlab_pod_traffic_fault';
    const rules = `table inet ${table} {
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    iifname "flannel.1" drop
    oifname "flannel.1" drop
  }
}
`;
    const added = await node.run('nft', ['-f', '-'], { input: rules });
    if (added.code !== 0) throw new Error(`nft in ${node.name}: ${added.stderr.trim()}`);
    this.options.log(`${node.name} now drops the pod traffic it forwards through flannel.1 (nft table ${table})`);
    const lines: string[] = [];
    const ok = await this.cli(['verify', clusterName], (line) => lines.push(line));
    const removed = await node.run('nft', ['delete', 'table', 'inet', table]);
    if (removed.code !== 0) throw new Error(`removing nft table ${table} in ${node.name}: ${removed.stderr.trim()}`);
    const failed = lines
      .map((l) => /^\s+(\S+) -> (\S+): (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ from: m[1]!, to: m[2]!, error: m[3]! }));
    const elsewhere = failed.filter((f) => f.from !== node.name && f.to !== node.name);
    this.report.pod_traffic_fault = {
      node: node.name,
      verify_ok: ok,
      failed_pairs: failed.map((f) => `${f.from}->${f.to}`),
    };
    this.options.log(
      `verify with ${node.name} dropping pod traffic: exit ${ok ? 0 : 'non-zero'}; failing pairs ${failed.map((f) => `${f.from}->${f.to}`).join(', ') || 'none'}`,
    );
    return !ok && failed.length > 0 && elsewhere.length === 0;
  }

  clusterSpec(): string {
    // The stand-in control plane has no pod proxy and its kubelets run no pods: verify's probe needs the real lab, whose
    // kubelets run agnhost pods in sandboxes of their own on a flannel-like network (stand-ins/pod-sandbox.ts).
    const podTrafficChecked = this.options.realBinaries !== undefined;
    const nodes = [
      ...this.controlPlanes.map((n) => `    - { name: ${n.name}, address: ${n.address}, role: control-plane }`),
      ...this.workers.map((n) => `    - { name: ${n.name}, address: ${n.address}, role: worker }`),
    ];
    return `apiVersion: kubeha.io/v1
kind: Cluster
metadata: { name: ${clusterName} }
spec:
  kubernetesVersion: "${this.kubernetesVersion}"
  endpoint: { mode: ${this.options.endpointMode ?? 'haproxy-keepalived'}, vip: ${this.vip}, port: ${this.endpointPort}, interface: eth0, virtualRouterId: 51${this.controlPlanes.length === 1 ? ', multicast: true' : ''} }
  networking: { podCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/12, cni: flannel${this.options.mirrors ? `, cniManifest: { url: "${this.mirrorUrl}${flannelPath}", allowHttp: true }` : ''}${podTrafficChecked ? '' : ', checkPodTraffic: false'} }
  hostPolicy: { firewall: managed, selinux: permissive }
  concurrency: { workers: 10 }${this.controlPlanes.length % 2 === 0 ? '\n  allowEvenControlPlanes: true' : ''}
  nodes:
${nodes.join('\n')}${this.options.mirrors ? this.mirrorsSpec() : ''}
`;
  }

  /** Runs the real CLI in the admin node, its output shown live; true when it exits 0. */
  cli(args: string[], onLine?: (line: string) => void): Promise<boolean> {
    const child = this.admin.spawn('node', [
      `${projectRoot}/coordinator/cli/main.ts`,
      '--server',
      `http://127.0.0.1:${apiPort}`,
      '--token',
      this.adminToken,
      ...args,
    ]);
    let rest = '';
    const show = (chunk: Buffer) => {
      rest += chunk.toString();
      const parts = rest.split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        this.options.log(`  | ${line}`);
        onLine?.(line);
      }
    };
    child.stdout?.on('data', show);
    child.stderr?.on('data', show);
    return new Promise((resolve) => child.once('close', (code) => resolve(code === 0)));
  }

  private vipWatch: VipWatch | undefined;
  /** When the deploy's first load-balancer step succeeded (the lab's clock). */
  private firstLoadBalancerAt: number | undefined;

  private async deploy(): Promise<boolean> {
    writeFileSync(this.admin.hostPath('/root/cluster.yaml'), this.clusterSpec());
    // The VIP is watched on every control plane from now on: once held, it must never be on none or two.
    this.vipWatch = new VipWatch({ controlPlanes: this.controlPlanes, vip: this.vip, maxSeconds: 3 * 3600 });
    const deployStarted = Date.now();
    const noteLoadBalancer = (line: string) => {
      if (/ load-balancer\/\S+\s+succeeded/.test(line)) this.firstLoadBalancerAt ??= Date.now();
    };
    this.deployStartedAt = deployStarted;
    this.options.log('kubeha apply -f /root/cluster.yaml (in admin):');
    if (!this.options.restartCoordinatorMidDeploy)
      return this.cli(['apply', '-f', '/root/cluster.yaml'], noteLoadBalancer);
    let runId = '';
    const started = await this.cli(['apply', '-f', '/root/cluster.yaml', '--no-watch'], (line) => {
      runId = /run (\S+) started/.exec(line)?.[1] ?? runId;
      noteLoadBalancer(line);
    });
    if (!started || !runId) return false;
    await this.until('the deploy to reach a kubeadm step', 600, async () => {
      const run = (await this.api('GET', `/v1/runs/${runId}`)) as {
        steps?: { kind?: string; id?: string; state: string }[];
      };
      return (run.steps ?? []).some(
        (s) => /kubeadm-init/.test(`${s.kind ?? ''} ${s.id ?? ''}`) && s.state !== 'pending',
      );
    });
    this.options.log('in the middle of the deploy:');
    await this.restartCoordinator();
    this.report.coordinator_restarted = true;
    return this.cli(['watch', runId], noteLoadBalancer);
  }

  private deployStartedAt = 0;

  /**
   * From the first moment a control plane held the VIP after the first load-balancer step, to now (before the
   * drill): the watcher's samples must show exactly one holder throughout (the deploy, verify and the second apply).
   */
  private checkDeployVip(): void {
    const watch = this.vipWatch;
    if (!watch) return;
    const now = Date.now();
    const lbAt = this.firstLoadBalancerAt ?? this.deployStartedAt;
    const samples = watch.holdersBetween(lbAt, now);
    const firstHeld = samples.find((s) => s.holders.length > 0);
    let withoutHolder = 0;
    let withTwo = 0;
    if (firstHeld) {
      const from = samples.indexOf(firstHeld);
      samples.slice(from).forEach((s, i, list) => {
        const end = list[i + 1]?.atMs ?? now;
        if (s.holders.length === 0) withoutHolder += end - s.atMs;
        if (s.holders.length > 1) withTwo += end - s.atMs;
      });
    }
    this.report.deploy_vip = {
      first_held_after_lb_s: firstHeld ? Math.round((firstHeld.atMs - lbAt) / 100) / 10 : null,
      watched_s: firstHeld ? Math.round((now - firstHeld.atMs) / 100) / 10 : 0,
      without_holder_ms: withoutHolder,
      with_two_ms: withTwo,
      holders: samples.map((s) => s.holders),
    };
    this.options.log(
      `VIP from the first load-balancer step to the drill (watched on the control planes): ${
        firstHeld
          ? `first held ${this.report.deploy_vip.first_held_after_lb_s} s after it, then ${withoutHolder} ms with no holder and ${withTwo} ms with two over ${this.report.deploy_vip.watched_s} s; holders ${samples.map((s) => s.holders.join('+') || 'none').join(' -> ')}`
          : 'never held'
      }`,
    );
  }

  /** The real kubectl through the VIP (admin.conf names the endpoint) and the real etcdctl in cp1's etcd container. */
  private async inspectRealControlPlane(): Promise<void> {
    const cp = this.controlPlanes[0]!;
    const kubectl = async (args: string[]) => {
      const r = await cp.run('kubectl', ['--kubeconfig', '/etc/kubernetes/admin.conf', ...args, '-o', 'json']);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
      // biome-ignore lint/suspicious/noExplicitAny: API objects are read field by field.
      return JSON.parse(r.stdout) as { items: Record<string, any>[] };
    };
    const nodes = await kubectl(['get', 'nodes']);
    const ready = nodes.items.filter((n) =>
      (n['status']?.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
      ),
    );
    this.report.nodes_ready = ready.length;
    this.options.log(
      `kubectl get nodes (through ${this.vip}:${this.endpointPort}): ${ready.length} of ${nodes.items.length} Ready`,
    );
    const leases = await kubectl(['get', 'leases', '-n', 'kube-system']);
    this.report.leases_held = leases.items
      .filter((l) => l['spec']?.holderIdentity && /^kube-(controller-manager|scheduler)$/.test(l['metadata'].name))
      .map((l) => `${l['metadata'].name}=${l['spec'].holderIdentity.split('_')[0]}`);
    this.options.log(`leases held: ${this.report.leases_held.join(', ')}`);
    const id = (await cp.run('crictl', findEtcdContainerArgs)).stdout.trim().split('\n')[0] ?? '';
    const etcdctl = async (args: string[]) => {
      const r = await cp.run('crictl', ['exec', '--sync', id, 'etcdctl', ...etcdctlTls, ...args, '-w', 'json']);
      if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')}: exit ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    };
    const members = parseMemberList(await etcdctl(['member', 'list']));
    const statuses = parseEndpointStatus(await etcdctl(['endpoint', 'status', '--cluster']));
    this.report.etcd_voting_members = members.filter((m) => !m.isLearner).length;
    if (this.options.failJoin) this.checkFailedJoin(this.network.node(this.options.failJoin), members);
    this.report.etcd_learners = members.filter((m) => m.isLearner).length;
    this.report.etcd_leaders = statuses.filter((s) => s.memberId === s.leaderId).length;
    this.options.log(
      `etcd: ${members.map((m) => `${m.name || '(unstarted)'}${m.isLearner ? ' (learner)' : ''}`).join(', ')}; leader ${statuses[0]?.leaderId ?? 'none'}`,
    );
  }

  private checkFailedJoin(node: LabNode, finalMembers: EtcdMember[]): void {
    const peerUrl = `https://${node.address}:2380`;
    let added: EtcdMember | undefined;
    try {
      added = parseMemberList(readFileSync(node.hostPath(failJoinMembers), 'utf8')).find((m) =>
        m.peerUrls.includes(peerUrl),
      );
    } catch (error) {
      this.options.log(`--fail-join: no member list from the killed join: ${(error as Error).message}`);
    }
    const now = finalMembers.find((m) => m.peerUrls.includes(peerUrl));
    this.report.failed_join = {
      node: node.name,
      member_id: added?.id ?? '',
      member_removed: added !== undefined && !finalMembers.some((m) => m.id === added.id),
      retried: now !== undefined && !now.isLearner && now.name === node.name,
    };
    this.options.log(
      `--fail-join ${node.name}: the killed join had added etcd member ${added?.id ?? '(none seen)'}${added?.isLearner ? ' (learner)' : ''}; now ${node.name} is member ${now?.id ?? '(none)'}`,
    );
  }

  /**
   * `kubeha apply` of the unchanged spec on the running cluster: it must exit 0 saying "up to date", and no step of
   * its run may report a change (each step reports changed only when its apply ran, i.e. a command or a write).
   */
  private async reapply(): Promise<boolean> {
    const started = Date.now();
    let upToDate = false;
    const exitOk = await this.cli(['apply', '-f', '/root/cluster.yaml'], (line) => {
      if (line.includes('up to date, nothing changed on any node')) upToDate = true;
    });
    const seconds = (Date.now() - started) / 1000;
    const { runs } = (await this.api('GET', `/v1/runs?cluster=${clusterName}`)) as { runs: { id: string }[] };
    const last = runs.at(-1);
    const run = last
      ? ((await this.api('GET', `/v1/runs/${last.id}`)) as { steps: { id: string; kind: string; changed: boolean }[] })
      : { steps: [] };
    this.report.reapply = {
      exit_ok: exitOk,
      up_to_date: upToDate,
      seconds,
      changed_steps: run.steps.filter((s) => s.changed).map((s) => s.id),
      step_kinds: [...new Set(run.steps.map((s) => s.kind))],
    };
    this.options.log(
      `second apply: exit ${exitOk ? 0 : 'non-zero'} in ${seconds.toFixed(1)} s, ${upToDate ? 'up to date' : 'NOT up to date'}, steps that changed something: ${this.report.reapply.changed_steps.join(', ') || 'none'}`,
    );
    return exitOk && upToDate && this.report.reapply.changed_steps.length === 0;
  }

  /**
   * `kubeha plan -f /root/cluster.yaml`, its per-node lists shown live. Before the apply it must exit 0, list
   * something to change on every cluster node and change nothing (no file the deploy writes differs on a node). After
   * the apply it must say the spec is the one applied and list nothing to change; and every step the first plan said
   * would change must have been changed by the deploy (a plan that had changed a node would have left it up to date).
   */
  private async planCheck(when: 'before' | 'after'): Promise<boolean> {
    writeFileSync(this.admin.hostPath('/root/cluster.yaml'), this.clusterSpec());
    const filesBefore = this.nodeFiles();
    const started = Date.now();
    let runId = '';
    let sameSpec = false;
    const exitOk = await this.cli(['plan', '-f', '/root/cluster.yaml'], (line) => {
      runId = /^plan of cluster \S+ \(run (\S+)\)/.exec(line)?.[1] ?? runId;
      if (line.startsWith('the spec is the one last applied')) sameSpec = true;
    });
    type Steps = { steps: { id: string; node: string; state: string; changed: boolean; wouldChange?: string[] }[] };
    // A plan run's steps say `changed` for what they would change: what the nodes hold is read from the nodes.
    const run = runId ? ((await this.api('GET', `/v1/runs/${runId}`)) as Steps) : { steps: [] };
    const changing = run.steps.filter((s) => (s.wouldChange ?? []).length > 0);
    const filesAfter = this.nodeFiles();
    const check: PlanCheck = {
      exit_ok: exitOk,
      run_id: runId,
      seconds: (Date.now() - started) / 1000,
      same_spec: sameSpec,
      would_change: changing.map((s) => s.id),
      nodes_with_changes: [...new Set(changing.map((s) => s.node))],
      cannot_tell: run.steps.filter((s) => s.state === 'failed').map((s) => s.id),
      node_files_changed: [...filesAfter.keys()].filter((key) => filesAfter.get(key) !== filesBefore.get(key)),
    };
    this.report.plan[when] = check;
    this.options.log(
      `plan ${when} the apply: exit ${exitOk ? 0 : 'non-zero'} in ${check.seconds.toFixed(1)} s, ${check.would_change.length} step(s) would change something on ${check.nodes_with_changes.join(', ') || 'no node'}, ${check.cannot_tell.length} could not tell; files changed on the nodes: ${check.node_files_changed.join(', ') || 'none'}`,
    );
    const nothingChanged = exitOk && runId !== '' && check.node_files_changed.length === 0;
    if (when === 'before') {
      return nothingChanged && this.clusterNodes.every((n) => check.nodes_with_changes.includes(n.name));
    }
    const { runs } = (await this.api('GET', `/v1/runs?cluster=${clusterName}`)) as {
      runs: { id: string; kind: string }[];
    };
    const firstDeploy = runs.find((r) => r.kind === 'deploy');
    const deployed = firstDeploy ? ((await this.api('GET', `/v1/runs/${firstDeploy.id}`)) as Steps) : { steps: [] };
    const changedByDeploy = new Set(deployed.steps.filter((s) => s.changed).map((s) => s.id));
    const undone = (this.report.plan.before?.would_change ?? []).filter((id) => !changedByDeploy.has(id));
    this.report.plan.deploy_left_undone = undone;
    this.options.log(
      `the deploy changed ${changedByDeploy.size} step(s); of those the first plan listed, it found up to date: ${undone.join(', ') || 'none'}`,
    );
    return nothingChanged && sameSpec && check.would_change.length === 0 && undone.length === 0;
  }

  /** "NODE:PATH" -> the file's content ("" when absent) for every file the deploy writes, on every cluster node. */
  private nodeFiles(): Map<string, string> {
    const files = new Map<string, string>();
    for (const node of this.clusterNodes) {
      for (const path of filesTheDeployWrites) {
        const onHost = node.hostPath(path);
        files.set(`${node.name}:${path}`, existsSync(onHost) ? readFileSync(onHost, 'utf8') : '');
      }
    }
    return files;
  }

  private async readyzThroughVip(): Promise<boolean> {
    const from = this.workers[0] ?? this.admin;
    const r = await from.run('curl', [
      '-sS',
      '--max-time',
      '5',
      '--cacert',
      '/etc/kubernetes/pki/ca.crt',
      `https://${this.vip}:${this.endpointPort}/readyz`,
    ]);
    this.options.log(
      `GET https://${this.vip}:${this.endpointPort}/readyz from ${from.name}: ${r.stdout.trim() || r.stderr.trim()}`,
    );
    return r.code === 0 && r.stdout.trim() === 'ok';
  }

  private async drill(): Promise<VipWatchResult> {
    const watch = this.vipWatch ?? new VipWatch({ controlPlanes: this.controlPlanes, vip: this.vip, maxSeconds: 3600 });
    this.vipWatch = watch;
    const prober = this.workers[0] ?? this.controlPlanes[0]!;
    const drillStarted = Date.now();
    watch.startProbe(prober, this.endpointPort, 3600);
    await new Promise((r) => setTimeout(r, 1000));
    const failures: string[] = [];
    for (let round = 1; round <= (this.options.drillRounds ?? 1); round++) {
      let runId = '';
      const done = await this.cli(['drill', 'failover', clusterName], (line) => {
        runId = /drill-failover run (\S+) of/.exec(line)?.[1] ?? runId;
      });
      // A restored keepalived takes a few adverts to hold the VIP again: the endpoint must come back on its own.
      await watch.recovered(60);
      const report = runId ? await this.drillReport(runId) : undefined;
      if (!done)
        failures.push(`round ${round}: ${report ? drillProblems(report) : 'no drill report (run id not seen)'}`);
      if (runId && report) this.compareDrill(report, watch);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const watched = watch.stop();
    const during = watch.holdersBetween(drillStarted, Date.now());
    this.report.vip_holders = during.map((h) => h.holders);
    this.options.log(
      `watched from ${prober.name}: ${watched.probes} probes of /readyz, ${watched.failedProbes} failed, longest gap ${watched.longestGapS} s; VIP holders during the drill ${during.map((h) => h.holders.join('+') || 'none').join(' -> ')}, at most ${watched.holdersMax} at once`,
    );
    if (failures.length > 0) throw new Error(`the failover drill run did not succeed: ${failures.join('; ')}`);
    return watched;
  }

  /** The failover-drill step's report of the run, when it wrote one. */
  private async drillReport(runId: string): Promise<FailoverDrillReport | undefined> {
    const run = (await this.api('GET', `/v1/runs/${runId}`).catch(() => ({ steps: [] }))) as {
      steps: { kind: string; report?: string }[];
    };
    const text = run.steps.find((s) => s.kind === 'failover-drill' && s.report)?.report;
    return text ? (JSON.parse(text) as FailoverDrillReport) : undefined;
  }

  /** Each action's figures from the coordinator's report beside what the lab's watcher saw in the same window. */
  private compareDrill(report: FailoverDrillReport, watch: VipWatch): void {
    const order = (sets: string[][]) =>
      sets
        .filter((h) => h.length > 0)
        .map((h) => h.join('+'))
        .filter((h, i, all) => i === 0 || all[i - 1] !== h);
    for (const a of report.actions) {
      const watcherGapMs = watch.longestGapBetween(a.appliedAtMs - a.probeIntervalMs, a.endedAtMs);
      const resolutionMs = Math.max(50, watch.samplingGapBetween(a.appliedAtMs, a.endedAtMs));
      const lasting = a.holderTimeline.filter(
        (h, i) => (a.holderTimeline[i + 1]?.atMs ?? a.endedAtMs - a.appliedAtMs) - h.atMs >= resolutionMs,
      );
      const coordinatorHolders = order(lasting.map((h) => h.holders));
      const coordinatorHoldersAll = order(a.holderTimeline.map((h) => h.holders));
      const watcherHolders = order(watch.holdersBetween(a.appliedAtMs, a.endedAtMs).map((h) => h.holders));
      const entry: DrillAgreement = {
        action: a.action,
        node: a.initialHolder ?? '',
        coordinator_outage_s: a.longestOutageMs / 1000,
        watcher_gap_s: watcherGapMs / 1000,
        difference_s: Math.round(Math.abs(a.longestOutageMs - watcherGapMs)) / 1000,
        coordinator_no_holder_s: a.vipAbsentMs / 1000,
        coordinator_two_holders_s: a.vipTwoHoldersMs / 1000,
        coordinator_clock_spread_ms: a.clockSpreadMs,
        coordinator_holders: coordinatorHolders,
        coordinator_holders_all: coordinatorHoldersAll,
        watcher_holders: watcherHolders,
        watcher_resolution_ms: resolutionMs,
        holders_agree: coordinatorHolders.join(',') === watcherHolders.join(','),
      };
      this.report.drill_agreement.push(entry);
      this.options.log(
        `  ${a.action} on ${entry.node}: outage ${entry.coordinator_outage_s.toFixed(2)} s (coordinator) vs ${entry.watcher_gap_s.toFixed(2)} s (watcher on ${(this.workers[0] ?? this.controlPlanes[0]!).name}), ${entry.difference_s.toFixed(2)} s apart; holders ${coordinatorHolders.join(' -> ')} (agents) vs ${watcherHolders.join(' -> ')} (watcher)${entry.holders_agree ? '' : ' DISAGREE'}${coordinatorHoldersAll.join() !== coordinatorHolders.join() ? `; every holder the agents reported: ${coordinatorHoldersAll.join(' -> ')} (sets shorter than the watcher's ${resolutionMs} ms between samples left out)` : ''}`,
      );
    }
  }

  async until(what: string, seconds: number, probe: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (await probe().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${what}: not after ${seconds} s`);
  }

  log(line: string): void {
    this.options.log(line);
  }

  /** The first control plane still alive: where kubectl and etcdctl run unless told otherwise. */
  private get liveControlPlane(): LabNode {
    const live = this.controlPlanes.find((n) => !this.deadNodes.has(n));
    if (!live) throw new Error('no control plane of the lab is alive');
    return live;
  }

  kubectl(args: string[], on: LabNode = this.liveControlPlane): Promise<RunResult> {
    return on.run('kubectl', ['--kubeconfig', '/etc/kubernetes/admin.conf', ...args]);
  }

  async etcdctl(args: string[], on: LabNode = this.liveControlPlane): Promise<RunResult> {
    const found = await on.run('crictl', findEtcdContainerArgs);
    const id = found.stdout.trim().split('\n')[0] ?? '';
    if (found.code !== 0 || !id)
      return { ...found, code: found.code || 1, stderr: `no running etcd container in ${on.name}: ${found.stderr}` };
    return on.run('crictl', ['exec', '--sync', id, 'etcdctl', ...etcdctlTls, ...args]);
  }

  writeSpec(): string {
    const path = '/root/cluster.yaml';
    writeFileSync(this.admin.hostPath(path), this.clusterSpec());
    return path;
  }

  async addNode(role: 'control-plane' | 'worker'): Promise<LabNode> {
    const [prefix, base, list] = role === 'control-plane' ? ['cp', 10, this.controlPlanes] : ['w', 20, this.workers];
    const taken = this.network.nodes.filter((n) => new RegExp(`^${prefix}\\d+$`).test(n.name)).length;
    const name = `${prefix}${taken + 1}`;
    const node = await this.network.addNode(name, base + taken + 1);
    this.options.log(`  ${node.name.padEnd(6)} ${node.address.padEnd(15)} ${node.netns} (added)`);
    await this.enrollAgent(node);
    await this.until(`the agent of ${name} to connect`, 60, async () => {
      const { agents } = (await this.api('GET', '/v1/agents')) as {
        agents: { connected: boolean; facts: { hostname: string } }[];
      };
      return agents.some((a) => a.connected && a.facts.hostname === name);
    });
    list.push(node);
    return node;
  }

  async killNode(node: LabNode): Promise<void> {
    this.options.log(`${node.name} dies: its link down, then every process killed`);
    this.deadNodes.add(node);
    // Off the network first, as a machine that loses power is: its processes get no chance to hand anything over
    // (keepalived's priority-0 advert, an etcd leader's transfer), and a process that outlives the others cannot
    // answer for the VIP.
    const down = spawnSync('ip', ['-n', node.netns, 'link', 'set', 'eth0', 'down'], { encoding: 'utf8' });
    if (down.status !== 0) throw new Error(`ip -n ${node.netns} link set eth0 down: ${down.stderr.trim()}`);
    await node.stopProcesses();
  }

  private readonly macs = new Map<string, string>();

  /** The live node the endpoint is watched from: a worker when there is one. */
  private endpointProber(): LabNode | undefined {
    return [...this.workers, ...this.controlPlanes].find((n) => !this.deadNodes.has(n));
  }

  vipNeighbour(): string {
    const prober = this.endpointProber();
    if (!prober) return 'no live node';
    const r = spawnSync('ip', ['-n', prober.netns, 'neigh', 'show', this.vip], { encoding: 'utf8' });
    const mac = /lladdr (\S+)/.exec(r.stdout)?.[1];
    if (!mac) return r.stdout.trim() ? 'unresolved' : 'none';
    if (!this.macs.has(mac)) {
      for (const n of [...this.controlPlanes, ...this.deadNodes]) {
        const link = spawnSync('ip', ['-n', n.netns, '-o', 'link', 'show', 'eth0'], { encoding: 'utf8' });
        const own = /link\/ether (\S+)/.exec(link.stdout)?.[1];
        if (own) this.macs.set(own, n.name);
      }
    }
    return this.macs.get(mac) ?? mac;
  }

  vipHolders(): string[] {
    return this.controlPlanes
      .filter((n) => !this.deadNodes.has(n))
      .filter((n) => {
        const r = spawnSync('ip', ['-n', n.netns, '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
        return r.stdout.includes(` ${this.vip}/`);
      })
      .map((n) => n.name);
  }

  forgetNode(node: LabNode): void {
    this.controlPlanes = this.controlPlanes.filter((n) => n !== node);
    this.workers = this.workers.filter((n) => n !== node);
  }

  watchEndpoint(): EndpointWatch {
    const prober = this.endpointProber();
    if (!prober) throw new Error('no live lab node to watch the endpoint from');
    const watch = new VipWatch({ controlPlanes: [], vip: this.vip, maxSeconds: 0 });
    watch.startProbe(prober, this.endpointPort, 3600);
    this.options.log(`watching /readyz through ${this.vip}:${this.endpointPort} from ${prober.name} every 50 ms`);
    return {
      stop: () => {
        const { longestGapS, probes, failedProbes, recovered, outages } = watch.stop();
        return { longestGapS, probes, failedProbes, recovered, outages };
      },
    };
  }

  /** One day-2 scenario as a phase; its failure is recorded in the report and does not stop the next one. */
  private async day2(scenario: Day2Scenario): Promise<void> {
    try {
      this.report.day2[scenario.name] = await this.phase(`day 2: ${scenario.name}`, () => scenario.run(this));
      this.options.log(`day 2 ${scenario.name}: ${JSON.stringify(this.report.day2[scenario.name])}`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.report.day2[scenario.name] = { error: message };
      this.options.log(`day 2 ${scenario.name} FAILED: ${message}`);
    }
  }

  /** How to reach each node of a kept lab. */
  howToReach(): string {
    const lines = this.network.nodes.map(
      (n) =>
        `  ${n.name.padEnd(6)} ${n.address.padEnd(15)} nsenter --target ${n.holderPid} --mount --uts --net -- env PATH=${n.path()} bash\n  ${''.padEnd(22)} (network only: ip netns exec ${n.netns} bash)`,
    );
    return [
      ...lines,
      `  API (in admin): curl -H "authorization: Bearer ${this.adminToken}" http://127.0.0.1:${apiPort}/v1/agents`,
      `  the cluster endpoint: https://${this.vip}:${this.endpointPort} (kubectl in a control plane: kubectl get nodes)`,
      `  tear down: sudo npm run lab -- --teardown ${this.network.id}`,
    ].join('\n');
  }
}
