import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHaproxyConfig } from '../../agent/load-balancer/haproxy-config.ts';
import { renderKeepalivedConfig } from '../../agent/load-balancer/keepalived-config.ts';
import { haproxyInputFor, keepalivedInputFor, parseLoadBalancerParams } from '../../agent/steps/load-balancer.ts';
import { canRunNetnsLab, NetnsSandbox, sh } from './netns-sandbox.ts';

// keepalived -t checks that the interface exists, so it runs inside a namespace that has an eth0.
const sandbox = new NetnsSandbox('cfg');
let ns = '';
let dir = '';
let checkScript = '';

beforeAll(async () => {
  const can = await canRunNetnsLab();
  if (!can.ok) throw new Error(`the real keepalived/haproxy validation needs root and the tools: ${can.reason}`);
  dir = mkdtempSync(join(tmpdir(), `kha-${process.pid}-cfg-`));
  checkScript = join(dir, 'check-apiserver');
  copyFileSync(fileURLToPath(new URL('../../packaging/check-apiserver', import.meta.url)), checkScript);
  ns = await sandbox.addNamespace('v');
  await sh('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
  await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
});
afterAll(async () => {
  await sandbox.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const nodes = [
  { name: 'k8s-master1', address: '10.213.9.11', role: 'control-plane' },
  { name: 'k8s-master2', address: '10.213.9.12', role: 'control-plane' },
  { name: 'k8s-master3', address: '10.213.9.13', role: 'control-plane' },
];

describe('generated configurations pass the real validators', () => {
  for (const mode of ['haproxy-keepalived', 'keepalived'] as const) {
    for (const multicast of [false, true]) {
      it(`${mode}, ${multicast ? 'multicast' : 'unicast'}: keepalived -t${mode === 'haproxy-keepalived' ? ' and haproxy -c' : ''} accept every node's files`, async () => {
        for (const [index, node] of nodes.entries()) {
          const params = parseLoadBalancerParams({
            mode,
            nodeName: node.name,
            vip: '10.213.9.10',
            vipPrefixLength: 24,
            interface: 'eth0',
            virtualRouterId: 51,
            priority: 150 - index,
            authPass: 'Xy7pQ2wz',
            multicast,
            unicastSrcIp: multicast ? '' : node.address,
            unicastPeers: multicast ? [] : nodes.filter((n) => n !== node).map((n) => n.address),
            lbPort: 16443,
            backends: nodes,
          });
          const conf = join(dir, `${mode}-${multicast}-${node.name}.conf`);
          writeFileSync(
            conf,
            renderKeepalivedConfig(keepalivedInputFor(params, { checkScript, trackFile: join(dir, 'vrrp-status') })),
            { mode: 0o600 },
          );
          const keepalived = await sandbox.exec(ns, 'sh', ['-c', `keepalived -t -l -f ${conf} 2>&1; echo "rc=$?"`]);
          expect(keepalived.trim().split('\n').at(-1), keepalived).toBe('rc=0');
          if (mode === 'haproxy-keepalived') {
            const cfg = join(dir, `${node.name}-haproxy.cfg`);
            writeFileSync(cfg, renderHaproxyConfig(haproxyInputFor(params)));
            const haproxy = await sh('sh', ['-c', `haproxy -c -f ${cfg} 2>&1; echo "rc=$?"`]);
            expect(haproxy.trim().split('\n').at(-1), haproxy).toBe('rc=0');
          }
        }
      });
    }
  }

  it('keepalived -t refuses a hand-made one-line block (why we render one keyword per line)', async () => {
    const conf = join(dir, 'one-line.conf');
    writeFileSync(
      conf,
      `vrrp_instance VI_1 { state BACKUP; interface eth0; virtual_router_id 51; priority 100; virtual_ipaddress { 10.213.9.10 } }\n`,
      { mode: 0o600 },
    );
    const out = await sandbox.exec(ns, 'sh', ['-c', `keepalived -t -l -f ${conf} 2>&1; echo "rc=$?"`]);
    expect(out.trim().split('\n').at(-1)).not.toBe('rc=0');
  });
});
