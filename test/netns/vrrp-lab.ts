import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterPhase } from '../../agent/health/cluster-phase.ts';
import { renderHaproxyConfig } from '../../agent/load-balancer/haproxy-config.ts';
import { renderKeepalivedConfig } from '../../agent/load-balancer/keepalived-config.ts';
import {
  haproxyInputFor,
  keepalivedInputFor,
  type LoadBalancerParams,
  parseLoadBalancerParams,
} from '../../agent/steps/load-balancer.ts';
import { makeTestPki } from '../support/test-pki.ts';
import { NetnsSandbox, sh } from './netns-sandbox.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const repoCheckScript = here('../../packaging/check-apiserver');

export type LabMode = 'haproxy-keepalived' | 'keepalived';

/** keepalived settings to compare; everything else (topology, tiers, the agent) is the same. */
export interface VrrpSettings {
  label: string;
  priorities: [number, number, number];
  checkIntervalS: number;
  checkFall: number;
  checkRise: number;
  checkWeight: number;
  advertIntS: number;
  preempt: boolean;
  /** Ours: the agent also drives keepalived through the track file. */
  agentTrackFile: boolean;
  /** Ours: packaging/check-apiserver (asks the agent); the article's: curl straight at the tier. */
  checkScript: 'kubeha' | 'direct-curl';
}

/** The defaults the coordinator sends (coordinator/plan/plan-run.ts: interval 1, fall 2, rise 2, weight 0, advert 1, 220-i). */
export const oursSettings: VrrpSettings = {
  label: 'ours',
  priorities: [220, 219, 218],
  checkIntervalS: 1,
  checkFall: 2,
  checkRise: 2,
  checkWeight: 0,
  advertIntS: 1,
  preempt: false,
  agentTrackFile: true,
  checkScript: 'kubeha',
};

/** The source article's: check every 3 s, fall 2, weight -10, advert_int 2, priorities 50/49/48, preemption on. */
export const articleSettings: VrrpSettings = {
  label: 'article',
  priorities: [50, 49, 48],
  checkIntervalS: 3,
  checkFall: 2,
  checkRise: 2,
  checkWeight: -10,
  advertIntS: 2,
  preempt: true,
  agentTrackFile: false,
  checkScript: 'direct-curl',
};

export interface LabNode {
  name: string;
  ns: string;
  address: string;
  dir: string;
  apiserver?: ChildProcess;
  haproxy?: ChildProcess;
  agent?: ChildProcess;
  keepalived?: ChildProcess;
}

export interface VrrpLabOptions {
  mode: LabMode;
  settings: VrrpSettings;
  /** Tag in the namespace names (kha-<pid>-<tag>-n1). */
  tag: string;
  /** The phase the agents start with; default: initialized. */
  phase?: Partial<ClusterPhase>;
  /** Lines from every process, prefixed with the node (for debugging a failure). */
  log?: (line: string) => void;
}

const subnet = '10.213.7';
export const labVip = `${subnet}.10`;
const healthListen = '127.0.0.1:7445';
const probeIntervalMs = 250;

/**
 * Three lab nodes on a bridge (each a network namespace with eth0 on 10.213.7.0/24, the bridge in a namespace of its
 * own), plus a client namespace. Each node runs a stand-in apiserver on 6443, HAProxy on 16443 (mode A), the
 * agent's real health endpoint on 127.0.0.1:7445 and real keepalived with the configuration our step renders.
 */
export class VrrpLab {
  readonly options: VrrpLabOptions;
  readonly sandbox: NetnsSandbox;
  readonly nodes: LabNode[] = [];
  client = '';
  lbPort = 16443;
  settings: VrrpSettings;
  private root = '';
  private certFile = '';
  private keyFile = '';
  private caPem = '';
  private phase: Partial<ClusterPhase>;

  constructor(options: VrrpLabOptions) {
    this.options = options;
    this.settings = options.settings;
    this.phase = options.phase ?? {};
    this.sandbox = new NetnsSandbox(options.tag);
  }

  get tierPort(): number {
    return this.options.mode === 'haproxy-keepalived' ? this.lbPort : 6443;
  }

  async start(): Promise<void> {
    // root-owned 0700 directory: keepalived runs the check script as root only from a path no one else can write.
    this.root = mkdtempSync(join(tmpdir(), `kha-${process.pid}-${this.options.tag}-`));
    const pki = await makeTestPki([labVip, `${subnet}.11`, `${subnet}.12`, `${subnet}.13`]);
    this.caPem = pki.caPem;
    this.certFile = join(this.root, 'apiserver.crt');
    this.keyFile = join(this.root, 'apiserver.key');
    writeFileSync(this.certFile, pki.certPem);
    writeFileSync(this.keyFile, pki.keyPem, { mode: 0o600 });
    writeFileSync(join(this.root, 'check-apiserver'), readFileSync(repoCheckScript), { mode: 0o755 });
    writeFileSync(
      join(this.root, 'article-check.sh'),
      `#!/bin/sh\n# The source article's check: the LB port straight, no agent.\ncurl --noproxy '*' -sfk --max-time 2 -o /dev/null https://127.0.0.1:${this.tierPort}/healthz || exit 1\nexit 0\n`,
      { mode: 0o755 },
    );
    chmodSync(join(this.root, 'check-apiserver'), 0o755);

    const bridge = await this.sandbox.addNamespace('br');
    await sh('ip', ['-n', bridge, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh('ip', ['-n', bridge, 'link', 'set', 'br0', 'up']);
    const attach = async (ns: string, port: string, address: string) => {
      await sh('ip', ['-n', bridge, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await sh('ip', ['-n', bridge, 'link', 'set', port, 'master', 'br0', 'up']);
      await sh('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    };
    for (let i = 1; i <= 3; i++) {
      const name = `n${i}`;
      const ns = await this.sandbox.addNamespace(name);
      const node: LabNode = { name, ns, address: `${subnet}.1${i}`, dir: join(this.root, name) };
      mkdirSync(node.dir, { mode: 0o700 });
      await attach(ns, `v${i}`, node.address);
      this.nodes.push(node);
    }
    this.client = await this.sandbox.addNamespace('c');
    await attach(this.client, 'vc', `${subnet}.100`);

    for (const node of this.nodes) {
      this.startApiserver(node);
      if (this.options.mode === 'haproxy-keepalived') this.startHaproxy(node);
      this.startAgent(node);
    }
    for (const node of this.nodes) this.startKeepalived(node);
  }

  private log(node: LabNode | string, what: string, line: string): void {
    this.options.log?.(`${typeof node === 'string' ? node : node.name} ${what}: ${line}`);
  }

  params(node: LabNode): LoadBalancerParams {
    const index = this.nodes.indexOf(node);
    const s = this.settings;
    return parseLoadBalancerParams({
      mode: this.options.mode,
      nodeName: node.name,
      vip: labVip,
      vipPrefixLength: 24,
      interface: 'eth0',
      virtualRouterId: 51,
      priority: s.priorities[index],
      authPass: 'labPass1',
      multicast: false,
      unicastSrcIp: node.address,
      unicastPeers: this.nodes.filter((n) => n !== node).map((n) => n.address),
      lbPort: this.lbPort,
      backends: this.nodes.map((n) => ({ name: n.name, address: n.address, role: 'control-plane' })),
      checkIntervalS: s.checkIntervalS,
      checkFall: s.checkFall,
      checkRise: s.checkRise,
      checkWeight: s.checkWeight,
      advertIntS: s.advertIntS,
      preempt: s.preempt,
    });
  }

  trackFile(node: LabNode): string {
    return join(node.dir, 'vrrp-status');
  }

  keepalivedConfig(node: LabNode): string {
    const input = keepalivedInputFor(this.params(node), {
      checkScript: join(this.root, 'check-apiserver'),
      trackFile: this.trackFile(node),
    });
    if (this.settings.checkScript === 'direct-curl') {
      input.check = {
        ...input.check,
        command: [join(this.root, 'article-check.sh')],
        timeoutS: this.settings.checkIntervalS,
      };
    }
    if (!this.settings.agentTrackFile) delete input.trackFile;
    return renderKeepalivedConfig(input);
  }

  startApiserver(node: LabNode): void {
    node.apiserver = this.sandbox.spawn(
      node.ns,
      process.execPath,
      [here('./stand-in-apiserver-main.ts'), this.certFile, this.keyFile, '6443', node.name],
      (line) => this.log(node, 'apiserver', line),
    );
  }

  startHaproxy(node: LabNode): void {
    const file = join(node.dir, 'haproxy.cfg');
    const config = renderHaproxyConfig(haproxyInputFor(this.params(node)))
      .replace('    log /dev/log local0\n', '')
      .replace('    log global\n', '');
    writeFileSync(file, config);
    node.haproxy = this.sandbox.spawn(node.ns, 'haproxy', ['-db', '-f', file], (line) =>
      this.log(node, 'haproxy', line),
    );
  }

  startAgent(node: LabNode): void {
    node.agent = this.sandbox.spawn(
      node.ns,
      process.execPath,
      [
        here('./health-agent-main.ts'),
        healthListen,
        String(probeIntervalMs),
        this.trackFile(node),
        join(node.dir, 'agent-state'),
      ],
      (line) => this.log(node, 'agent', line),
    );
    this.sendPhase(node, this.phase);
  }

  /** Tells every agent (and every agent started later) the cluster phase, as the coordinator would. */
  setPhase(overrides: Partial<ClusterPhase>): void {
    this.phase = { ...this.phase, ...overrides };
    for (const node of this.nodes) this.sendPhase(node, this.phase);
  }

  /** Tells one agent the cluster phase (as the coordinator's ClusterPhase message would). */
  sendPhase(node: LabNode, overrides: Partial<ClusterPhase>): void {
    const phase: ClusterPhase = {
      cluster: 'lab',
      initialized: true,
      initNode: node === this.nodes[0],
      endpointMode: this.options.mode,
      lbPort: this.lbPort,
      vip: labVip,
      clusterCaPem: this.caPem,
      ...overrides,
    };
    node.agent?.stdin?.write(`${JSON.stringify(phase)}\n`);
  }

  startKeepalived(node: LabNode): void {
    const file = join(node.dir, 'keepalived.conf');
    writeFileSync(file, this.keepalivedConfig(node), { mode: 0o600 });
    node.keepalived = this.sandbox.spawn(
      node.ns,
      'keepalived',
      [
        '--dont-fork',
        '--log-console',
        '--vrrp',
        '-f',
        file,
        '-p',
        join(node.dir, 'keepalived.pid'),
        '-r',
        join(node.dir, 'vrrp.pid'),
      ],
      (line) => this.log(node, 'keepalived', line),
    );
  }

  /** Stops keepalived everywhere (a graceful stop gives the VIP up) and starts it again with other settings. */
  async restartKeepalived(settings: VrrpSettings): Promise<void> {
    await Promise.all(this.nodes.map((n) => (n.keepalived ? this.sandbox.stop(n.keepalived) : undefined)));
    this.settings = settings;
    for (const node of this.nodes) this.startKeepalived(node);
  }

  /** Kills the tier that owns the VIP on this node (HAProxy in mode A, the apiserver in mode B); resolves once it is dead. */
  async killTier(node: LabNode): Promise<void> {
    const child = this.options.mode === 'haproxy-keepalived' ? node.haproxy : node.apiserver;
    if (child) await this.sandbox.stop(child, 'SIGKILL');
  }

  restoreTier(node: LabNode): void {
    if (this.options.mode === 'haproxy-keepalived') this.startHaproxy(node);
    else this.startApiserver(node);
  }

  /** Makes every apiserver's health paths answer this much later (slow but healthy). */
  setApiserverDelay(ms: number): void {
    for (const node of this.nodes) node.apiserver?.stdin?.write(`delay ${ms}\n`);
  }

  /**
   * Saturates the CPU: `perNode` busy loops in every node's namespace, at the same scheduling priority as keepalived,
   * HAProxy and the agent. Returns a function that stops them.
   */
  startCpuLoad(perNode: number): () => Promise<void> {
    const hogs = this.nodes.flatMap((node) =>
      Array.from({ length: perNode }, () => this.sandbox.spawn(node.ns, 'sh', ['-c', 'while :; do :; done'])),
    );
    return async () => {
      await Promise.all(hogs.map((hog) => this.sandbox.stop(hog, 'SIGKILL')));
    };
  }

  async stopAgent(node: LabNode): Promise<void> {
    if (node.agent) await this.sandbox.stop(node.agent);
    node.agent = undefined;
  }

  /** The nodes whose eth0 carries the VIP right now (sampled in parallel). */
  async holders(): Promise<string[]> {
    const found = await Promise.all(
      this.nodes.map(async (node) => {
        const out = await sh('ip', ['-n', node.ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
        return out.includes(` ${labVip}/`) ? node.name : undefined;
      }),
    );
    return found.filter((n): n is string => n !== undefined);
  }

  /** The agent's /healthz/vrrp answer on a node, from inside its namespace. */
  async vrrpHealth(node: LabNode): Promise<{ status: number; body: string }> {
    const out = await this.sandbox.exec(node.ns, 'curl', [
      '--noproxy',
      '*',
      '-s',
      '--max-time',
      '2',
      '-w',
      '\n%{http_code}',
      `http://${healthListen}/healthz/vrrp`,
    ]);
    const at = out.lastIndexOf('\n');
    return { status: Number(out.slice(at + 1)), body: out.slice(0, at) };
  }

  node(name: string): LabNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no lab node ${name}`);
    return node;
  }

  async close(): Promise<void> {
    await this.sandbox.close();
    if (this.root) rmSync(this.root, { recursive: true, force: true });
  }
}

/** Samples the VIP holders every `everyMs` until stopped; every sample is kept for the assertions. */
export class HolderSampler {
  readonly samples: { t: number; holders: string[] }[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly lab: VrrpLab;
  private readonly everyMs: number;

  constructor(lab: VrrpLab, everyMs = 100) {
    this.lab = lab;
    this.everyMs = everyMs;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t = Date.now();
        this.samples.push({ t, holders: await this.lab.holders() });
        const wait = this.everyMs - (Date.now() - t);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** How often the holder changed (to another node, to none or to two) over the samples from index `from` on. */
  moves(from = 0): number {
    const key = (s: { holders: string[] }) => [...s.holders].sort().join(',');
    const samples = this.samples.slice(from);
    return samples.filter((s, i) => i > 0 && key(s) !== key(samples[i - 1]!)).length;
  }

  /** Samples with two or more holders (must never happen). */
  splitBrain(): { t: number; holders: string[] }[] {
    return this.samples.filter((s) => s.holders.length > 1);
  }

  /** Waits until `test` holds for the latest sample (bounded). */
  async waitFor(what: string, test: (holders: string[]) => boolean, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const from = this.samples.length;
    while (Date.now() < deadline) {
      const latest = this.samples.slice(from).at(-1);
      if (latest && test(latest.holders)) return latest.t;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what}; last holders: ${JSON.stringify(this.samples.at(-1)?.holders)}`,
    );
  }
}
