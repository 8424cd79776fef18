// Pod traffic between two lab nodes through each node's real firewalld: pod-like network namespaces behind
// interfaces named like the CNI's (flannel: the cni0 bridge and a flannel.1 VXLAN; calico: cali* veths, routed),
// with an address from the node's pod subnet. With the ports and rich rules alone (what host-prep used to set)
// firewalld rejects the forwarded packets; after the real host-prep step they pass.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firewallRulesFor } from '../../agent/steps/host-prep/firewall.ts';
import { LabNetwork } from './lab-network.ts';
import { type LabNode, projectRoot } from './lab-node.ts';

const podCIDR = '10.244.0.0/16';
const podPort = 8080;

function ipIn(netns: string, args: string[]): void {
  execFileSync('ip', ['-n', netns, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNetns(netns: string, command: string, args: string[]): void {
  execFileSync('ip', ['netns', 'exec', netns, command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

interface Pod {
  node: LabNode;
  netns: string;
  address: string;
}

/** A pod-like namespace on the node's cni0 bridge, and the node's flannel.1 VXLAN to its peer (as flannel does). */
function flannelPod(lab: LabNetwork, node: LabNode, index: number, peer: { node: LabNode; index: number }): Pod {
  const netns = `${lab.prefix}pod${index}`;
  const address = `10.244.${index}.2`;
  execFileSync('ip', ['netns', 'add', netns]);
  ipIn(node.netns, ['link', 'add', 'cni0', 'type', 'bridge']);
  ipIn(node.netns, ['addr', 'add', `10.244.${index}.1/24`, 'dev', 'cni0']);
  ipIn(node.netns, ['link', 'set', 'cni0', 'up']);
  ipIn(node.netns, ['link', 'add', `veth${index}pod`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  ipIn(node.netns, ['link', 'set', `veth${index}pod`, 'master', 'cni0', 'up']);
  ipIn(netns, ['link', 'set', 'lo', 'up']);
  ipIn(netns, ['addr', 'add', `${address}/24`, 'dev', 'eth0']);
  ipIn(netns, ['link', 'set', 'eth0', 'up']);
  ipIn(netns, ['route', 'add', 'default', 'via', `10.244.${index}.1`]);
  ipIn(node.netns, [
    'link',
    'add',
    'flannel.1',
    'type',
    'vxlan',
    'id',
    '1',
    'local',
    node.address,
    'dev',
    'eth0',
    'dstport',
    '8472',
    'nolearning',
  ]);
  ipIn(node.netns, ['addr', 'add', `10.244.${index}.0/32`, 'dev', 'flannel.1']);
  ipIn(node.netns, ['link', 'set', 'flannel.1', 'up']);
  execFileSync('ip', [
    'netns',
    'exec',
    node.netns,
    'bridge',
    'fdb',
    'append',
    '00:00:00:00:00:00',
    'dev',
    'flannel.1',
    'dst',
    peer.node.address,
  ]);
  const peerSubnet = `10.244.${peer.index}`;
  ipIn(node.netns, ['route', 'add', `${peerSubnet}.0/24`, 'via', `${peerSubnet}.0`, 'dev', 'flannel.1', 'onlink']);
  return { node, netns, address };
}

/** A pod-like namespace behind a cali* veth with a /32 route, the peer's pods routed over eth0 (calico, BGP mode). */
function calicoPod(lab: LabNetwork, node: LabNode, index: number, peer: { node: LabNode; index: number }): Pod {
  const netns = `${lab.prefix}pod${index}`;
  const address = `10.244.${index}.2`;
  const cali = `cali${index}0a1b2c3d`;
  execFileSync('ip', ['netns', 'add', netns]);
  ipIn(node.netns, ['link', 'add', cali, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
  ipIn(node.netns, ['link', 'set', cali, 'up']);
  ipIn(node.netns, ['route', 'add', `${address}/32`, 'dev', cali, 'scope', 'link']);
  ipIn(node.netns, ['route', 'add', `10.244.${peer.index}.0/26`, 'via', peer.node.address, 'dev', 'eth0']);
  ipIn(netns, ['link', 'set', 'lo', 'up']);
  ipIn(netns, ['addr', 'add', `${address}/32`, 'dev', 'eth0']);
  ipIn(netns, ['link', 'set', 'eth0', 'up']);
  ipIn(netns, ['route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link']);
  // Calico answers for its gateway address by proxy ARP, which needs a default route these nodes lack: the pod gets
  // the cali side's MAC directly.
  const link = execFileSync('ip', ['-n', node.netns, '-o', 'link', 'show', cali], { encoding: 'utf8' });
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(link)?.[1];
  if (!mac) throw new Error(`no MAC for ${cali} in ${link}`);
  ipIn(netns, ['neigh', 'add', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0']);
  ipIn(netns, ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
  return { node, netns, address };
}

/** A web server in the pod that answers with its address. */
async function serve(pod: Pod): Promise<ChildProcess> {
  const server = spawn(
    'ip',
    [
      'netns',
      'exec',
      pod.netns,
      'node',
      '-e',
      `require('node:http').createServer((q, s) => s.end('${pod.address}')).listen(${podPort}, '${pod.address}', () => console.log('up'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((resolve, reject) => {
    server.stdout?.once('data', resolve);
    server.once('exit', (code) => reject(new Error(`the pod's server in ${pod.netns} exited ${code}`)));
  });
  return server;
}

/** curl from one pod to the other: its exit code and body. */
function fetchFrom(from: Pod, to: Pod): { code: number; body: string } {
  try {
    const body = execFileSync(
      'ip',
      ['netns', 'exec', from.netns, 'curl', '-sS', '--max-time', '5', `http://${to.address}:${podPort}/`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { code: 0, body };
  } catch (error) {
    return { code: (error as { status?: number }).status ?? -1, body: '' };
  }
}

/** What host-prep opened before it knew about pod traffic: the role's ports and rich rules, nothing else. */
async function applyPortsOnly(node: LabNode, cni: 'flannel' | 'calico'): Promise<void> {
  const { ports, richRules } = firewallRulesFor({ role: 'worker', cni, lbPort: 0 });
  const commands = [
    ['--permanent', ...ports.map((p) => `--add-port=${p}`)],
    ...richRules.map((r) => ['--permanent', `--add-rich-rule=${r}`]),
    ['--reload'],
  ];
  for (const args of commands) {
    const r = await node.run('firewall-cmd', args);
    if (r.code !== 0) throw new Error(`firewall-cmd ${args.join(' ')} in ${node.name}: ${r.stderr}`);
  }
}

/** The real host-prep step, run by the real agent in the node. */
async function hostPrep(node: LabNode, cni: 'flannel' | 'calico'): Promise<void> {
  const params = {
    hostname: node.name,
    role: 'worker',
    cni,
    podSubnet: podCIDR,
    firewall: 'managed',
    selinux: 'permissive',
  };
  writeFileSync(node.hostPath('/root/host-prep.json'), JSON.stringify(params));
  const r = await node.run(
    'node',
    [`${projectRoot}/agent/main.ts`, 'step', 'host-prep', '--params', '/root/host-prep.json'],
    {
      // (a dozen firewall-cmd runs, each a Python start: minutes on a loaded machine)
      timeoutMs: 400_000,
    },
  );
  if (r.code !== 0) throw new Error(`host-prep in ${node.name} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
}

describe.each([
  { cni: 'flannel' as const, makePod: flannelPod, subnet: '10.231.248' },
  { cni: 'calico' as const, makePod: calicoPod, subnet: '10.231.247' },
])('pod traffic between two nodes through real firewalld ($cni)', ({ cni, makePod, subnet }) => {
  let lab: LabNetwork;
  let pods: Pod[] = [];
  const servers: ChildProcess[] = [];

  beforeAll(async () => {
    // GIVEN two lab nodes (real firewalld in each), each with a pod-like namespace named and addressed like the CNI's
    lab = LabNetwork.create({ id: `${cni[0]}${process.pid.toString(36)}`, subnet });
    const a = await lab.addNode('node-a', 11);
    const b = await lab.addNode('node-b', 12);
    pods = [makePod(lab, a, 1, { node: b, index: 2 }), makePod(lab, b, 2, { node: a, index: 1 })];
    // (as on a node the kubelet runs on: host-prep's own sysctl, set here so the baseline below can pass)
    for (const node of [a, b]) inNetns(node.netns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    for (const pod of pods) servers.push(await serve(pod));
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) s.kill();
    await lab?.teardown();
  });

  it('passes pod traffic with firewalld stopped (the pod network itself works)', async () => {
    for (const pod of pods) expect((await pod.node.run('systemctl', ['stop', 'firewalld'])).code).toBe(0);
    expect(fetchFrom(pods[0]!, pods[1]!)).toEqual({ code: 0, body: pods[1]!.address });
    expect(fetchFrom(pods[1]!, pods[0]!)).toEqual({ code: 0, body: pods[0]!.address });
    for (const pod of pods) expect((await pod.node.run('systemctl', ['start', 'firewalld'])).code).toBe(0);
  }, 60_000);

  it('rejects forwarded pod traffic with only the ports and rich rules open', async () => {
    for (const pod of pods) await applyPortsOnly(pod.node, cni);
    // (curl's 7: refused by firewalld's reject at the end of its FORWARD chain)
    expect(fetchFrom(pods[0]!, pods[1]!).code).toBe(7);
    expect(fetchFrom(pods[1]!, pods[0]!).code).toBe(7);
  }, 60_000);

  it('passes pod traffic both ways once the real host-prep step has run on both nodes', async () => {
    await Promise.all(pods.map((pod) => hostPrep(pod.node, cni)));
    expect(fetchFrom(pods[0]!, pods[1]!)).toEqual({ code: 0, body: pods[1]!.address });
    expect(fetchFrom(pods[1]!, pods[0]!)).toEqual({ code: 0, body: pods[0]!.address });
    // AND the node's firewalld holds the CNI's interfaces and the pod network in the trusted zone
    const zone = await pods[0]!.node.run('firewall-cmd', ['--zone=trusted', '--list-all']);
    expect(zone.stdout).toContain(podCIDR);
    expect(zone.stdout).toContain(cni === 'flannel' ? 'flannel.1' : 'cali+');
  }, 480_000);
});
