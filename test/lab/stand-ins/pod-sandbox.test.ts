// The lab kubelet's pod sandboxes between two node-like network namespaces this test creates and removes: a pod on
// each node, reached from the other across flannel.1 (VXLAN over the nodes' own link), as the lab's verify probe does.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerAlive,
  createSandbox,
  deleteSandbox,
  ensureVxlan,
  type NodeNetwork,
  podSubnet,
  readSandbox,
  type Sandbox,
  sandboxUids,
  startContainer,
  vtepMac,
} from './pod-sandbox.ts';

const tag = process.pid.toString(36);
const nodeNetns = [`khpod-${tag}-a`, `khpod-${tag}-b`];
const podPort = 8080;

function run(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** curl in the pod's namespace: the body, or the exit code when it failed. */
function fetchFrom(sandbox: Sandbox, address: string): string {
  try {
    return run([
      'ip',
      'netns',
      'exec',
      sandbox.netns,
      'curl',
      '-sS',
      '--max-time',
      '5',
      `http://${address}:${podPort}/`,
    ]);
  } catch (error) {
    return `curl exit ${(error as { status?: number }).status}`;
  }
}

/** The pod's server: answers with its hostname, as agnhost's netexec /hostname does. */
function serverArgv(program: string): string[] {
  return [
    program,
    '-e',
    `require('node:http').createServer((q, s) => s.end(require('node:os').hostname())).listen(${podPort})`,
  ];
}

async function until(what: () => string, probe: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what()}: not after 10 s`);
}

describe('pod sandboxes on two nodes (flannel-like: cni0, veth, flannel.1)', () => {
  const stateRoot = mkdtempSync(join(tmpdir(), 'khpod-'));
  const nodes: NodeNetwork[] = [
    {
      netns: nodeNetns[0],
      nodeIp: '10.231.246.11',
      uplink: 'eth0',
      podCidr: '10.244.1.0/24',
      stateDir: join(stateRoot, 'a'),
    },
    {
      netns: nodeNetns[1],
      nodeIp: '10.231.246.12',
      uplink: 'eth0',
      podCidr: '10.244.2.0/24',
      stateDir: join(stateRoot, 'b'),
    },
  ];
  const uids = [`pod-a-${tag}`, `pod-b-${tag}`];
  const sandboxes: Sandbox[] = [];
  // The program in a directory only root may enter (mkdtemp's 0700), as the lab's real programs are.
  const program = join(stateRoot, 'node');

  beforeAll(async () => {
    // GIVEN two nodes on one link, forwarding, each with the other's pod network programmed as flanneld would
    try {
      linkSync(process.execPath, program);
    } catch {
      copyFileSync(process.execPath, program);
    }
    for (const name of nodeNetns) run(['ip', 'netns', 'add', name]);
    run([
      'ip',
      '-n',
      nodeNetns[0]!,
      'link',
      'add',
      'eth0',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      nodeNetns[1]!,
    ]);
    for (const node of nodes) {
      run(['ip', '-n', node.netns!, 'addr', 'add', `${node.nodeIp}/24`, 'dev', 'eth0']);
      run(['ip', '-n', node.netns!, 'link', 'set', 'eth0', 'up']);
      run(['ip', '-n', node.netns!, 'link', 'set', 'lo', 'up']);
      run(['ip', 'netns', 'exec', node.netns!, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      ensureVxlan(node, nodes);
    }
    // AND a pod on each node running a server as nobody
    for (const [i, node] of nodes.entries()) {
      const sandbox = createSandbox(node, uids[i]!);
      startContainer(node, sandbox, {
        argv: serverArgv(program),
        hostname: uids[i]!,
        uid: 65534,
        gid: 65534,
        logFile: join(stateRoot, `${uids[i]}.log`),
      });
      sandboxes.push(readSandbox(node, uids[i]!)!);
    }
    for (const [i, sandbox] of sandboxes.entries()) {
      const logFile = join(stateRoot, `${uids[i]}.log`);
      await until(
        () => `the server in ${sandbox.netns} (its log: ${readFileSync(logFile, 'utf8')})`,
        () => fetchFrom(sandbox, sandbox.ip) === uids[i],
      );
    }
  }, 60_000);

  afterAll(() => {
    for (const node of nodes) for (const uid of sandboxUids(node)) deleteSandbox(node, uid);
    for (const name of nodeNetns) {
      try {
        run(['ip', 'netns', 'del', name]);
      } catch {
        // Not made.
      }
    }
    rmSync(stateRoot, { recursive: true, force: true });
  });

  it('gives each pod the second address of its node podCIDR, a default route via cni0, its own hostname and a process running as nobody (from a directory nobody may enter)', () => {
    expect(sandboxes.map((s) => s.ip)).toEqual(['10.244.1.2', '10.244.2.2']);
    expect(run(['ip', '-n', sandboxes[0]!.netns, 'route', 'show', 'default'])).toContain(
      'default via 10.244.1.1 dev eth0',
    );
    expect(run(['ip', '-n', nodeNetns[0]!, '-o', '-4', 'addr', 'show', 'dev', 'cni0'])).toContain('10.244.1.1/24');
    expect(run(['ip', '-n', nodeNetns[0]!, '-o', 'link', 'show', sandboxes[0]!.hostVeth])).toContain('master cni0');
    const status = readFileSync(`/proc/${sandboxes[0]!.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe('65534');
  });

  it('programs flannel.1 as flanneld does: the podCIDR network address, the peer route, neighbour and forwarding entry', () => {
    const [a] = nodes;
    expect(run(['ip', '-n', a!.netns!, '-o', '-4', 'addr', 'show', 'dev', 'flannel.1'])).toContain('10.244.1.0/32');
    expect(run(['ip', '-n', a!.netns!, 'route', 'show', '10.244.2.0/24'])).toContain(
      '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
    );
    expect(run(['ip', '-n', a!.netns!, 'neigh', 'show', 'dev', 'flannel.1'])).toContain(
      `10.244.2.0 lladdr ${vtepMac('10.231.246.12')} PERMANENT`,
    );
    expect(run(['ip', 'netns', 'exec', a!.netns!, 'bridge', 'fdb', 'show', 'dev', 'flannel.1'])).toContain(
      `${vtepMac('10.231.246.12')} dst 10.231.246.12 self permanent`,
    );
    // (a second run changes nothing and does not fail)
    ensureVxlan(a!, nodes);
    expect(createSandbox(a!, uids[0]!)).toEqual(sandboxes[0]);
  });

  it('carries pod-to-pod traffic across the nodes both ways', () => {
    expect(fetchFrom(sandboxes[0]!, sandboxes[1]!.ip)).toBe(uids[1]);
    expect(fetchFrom(sandboxes[1]!, sandboxes[0]!.ip)).toBe(uids[0]);
  });

  it('deletes a sandbox: process, namespace, veth and address go, and the next pod gets the address again', () => {
    const [a] = nodes;
    const gone = sandboxes[0]!;
    deleteSandbox(a!, uids[0]!);
    expect(containerAlive(gone)).toBe(false);
    expect(existsSync(`/run/netns/${gone.netns}`)).toBe(false);
    expect(() => run(['ip', '-n', a!.netns!, 'link', 'show', gone.hostVeth])).toThrow();
    expect(sandboxUids(a!)).toEqual([]);
    expect(fetchFrom(sandboxes[1]!, gone.ip)).toMatch(/^curl exit/);
    const next = createSandbox(a!, `pod-c-${tag}`);
    expect(next.ip).toBe(gone.ip);
    expect(podSubnet(a!.podCidr).gateway).toBe('10.244.1.1');
  });
});
