// VRRP between two lab nodes through each node's real firewalld: without host-prep's rich rule the adverts are
// rejected and both nodes take the VIP; with it exactly one holds it. Also: firewalld's lifecycle in a node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vrrpRichRule } from '../../agent/steps/host-prep/firewall.ts';
import { LabNetwork } from './lab-network.ts';
import { type LabNode, runOk } from './lab-node.ts';

const subnet = '10.231.246';
const vip = `${subnet}.100`;

function keepalivedConf(node: LabNode, priority: number): string {
  return `global_defs {
    router_id ${node.name}
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority ${priority}
    advert_int 1
    virtual_ipaddress {
        ${vip}/24
    }
}
`;
}

async function holdsVip(node: LabNode): Promise<boolean> {
  return (await runOk(node, 'ip', ['-4', '-o', 'addr', 'show', 'eth0'])).includes(`${vip}/24`);
}

/** The holders of the VIP once they have stayed the same for 4 checks in a row (at most 60 checks, 500 ms apart). */
async function settledHolders(nodes: LabNode[]): Promise<string[]> {
  let last = '';
  let same = 0;
  for (let i = 0; i < 60; i++) {
    const holders = [];
    for (const n of nodes) if (await holdsVip(n)) holders.push(n.name);
    const now = holders.join(',');
    same = now === last ? same + 1 : 0;
    last = now;
    if (same >= 4 && now !== '') return holders;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the VIP holders did not settle (last: ${last || 'none'})`);
}

describe("VRRP through the lab nodes' real firewalld", () => {
  let lab: LabNetwork;
  let nodes: LabNode[] = [];

  beforeAll(async () => {
    // GIVEN two lab nodes with the real firewalld and the real keepalived, priorities 150 and 100
    lab = LabNetwork.create({ id: `v${process.pid.toString(36)}`, subnet });
    nodes = [await lab.addNode('lb-a', 11), await lab.addNode('lb-b', 12)];
    for (const [i, node] of nodes.entries()) {
      await runOk(node, 'dnf', ['install', '-y', 'keepalived']);
      await runOk(
        node,
        'sh',
        ['-c', 'mkdir -p /etc/keepalived && cat > /etc/keepalived/keepalived.conf'],
        keepalivedConf(node, 150 - 50 * i),
      );
    }
  }, 120_000);

  afterAll(async () => {
    await lab?.teardown();
    expect(lab.leftovers()).toEqual([]);
  }, 60_000);

  it('rejects the adverts without the VRRP rule: both nodes take the VIP', async () => {
    for (const node of nodes) await runOk(node, 'systemctl', ['start', 'keepalived']);
    expect(await settledHolders(nodes)).toEqual(['lb-a', 'lb-b']);
  }, 90_000);

  it("lets them through with host-prep's rich rule, which firewalld turns into an nftables match on VRRP", async () => {
    for (const node of nodes) {
      await runOk(node, 'firewall-cmd', ['--permanent', `--add-rich-rule=${vrrpRichRule}`]);
      await runOk(node, 'firewall-cmd', ['--reload']);
    }
    expect(await runOk(nodes[1]!, 'nft', ['list', 'ruleset'])).toMatch(/meta l4proto vrrp accept/);
    expect(await settledHolders(nodes)).toEqual(['lb-a']);
  }, 90_000);

  it('stops firewalld with systemctl: its rules leave the namespace, and start brings them back', async () => {
    const node = nodes[1]!;
    await runOk(node, 'systemctl', ['stop', 'firewalld']);
    expect((await node.run('systemctl', ['is-active', 'firewalld'])).stdout.trim()).toBe('inactive');
    expect(await runOk(node, 'nft', ['list', 'ruleset'])).not.toContain('firewalld');
    await runOk(node, 'systemctl', ['start', 'firewalld']);
    expect((await node.run('systemctl', ['is-active', 'firewalld'])).stdout.trim()).toBe('active');
    expect(await runOk(node, 'firewall-cmd', ['--list-rich-rules'])).toContain(vrrpRichRule);
  }, 90_000);
});
