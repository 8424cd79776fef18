import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFirewalldPorts } from './lab-firewalld.ts';
import { LabNetwork } from './lab-network.ts';
import { processesInNetns } from './lab-node.ts';

describe('lab nodes: namespaces on a bridge', () => {
  let lab: LabNetwork;

  beforeAll(async () => {
    // GIVEN two lab nodes on one bridge
    lab = LabNetwork.create({ id: `t${process.pid.toString(36)}`, subnet: '10.231.250' });
    await lab.addNode('node-a', 11);
    await lab.addNode('node-b', 12);
  });

  afterAll(() => lab.teardown());

  it('gives each node its own /etc: a file written in one node is seen neither in the other nor on the host', async () => {
    const a = lab.node('node-a');
    const b = lab.node('node-b');
    const written = await a.run('sh', [
      '-c',
      'echo from-a > /etc/khlab-isolation-probe && cat /etc/khlab-isolation-probe',
    ]);
    expect(written).toMatchObject({ code: 0, stdout: 'from-a\n' });
    expect((await b.run('cat', ['/etc/khlab-isolation-probe'])).code).not.toBe(0);
    expect(existsSync('/etc/khlab-isolation-probe')).toBe(false);
    expect(readFileSync(a.hostPath('/etc/khlab-isolation-probe'), 'utf8')).toBe('from-a\n');
  });

  it('gives each node its own /var/lib, /run and /usr/libexec', async () => {
    const a = lab.node('node-a');
    const b = lab.node('node-b');
    await a.run('sh', [
      '-c',
      'mkdir -p /usr/libexec/khlab-probe /var/lib/probe /run/probe && touch /usr/libexec/khlab-probe/x',
    ]);
    const inB = await b.run('sh', [
      '-c',
      'ls -d /usr/libexec/khlab-probe /var/lib/probe /run/probe 2>/dev/null | wc -l',
    ]);
    expect(inB.stdout.trim()).toBe('0');
    expect(existsSync('/usr/libexec/khlab-probe/x')).toBe(false);
    expect(existsSync('/run/probe')).toBe(false);
  });

  it('gives each node its own hostname', async () => {
    expect((await lab.node('node-a').run('hostname')).stdout.trim()).toBe('node-a');
    expect((await lab.node('node-b').run('hostname')).stdout.trim()).toBe('node-b');
  });

  it("puts the nodes on one bridge behind each node's real firewalld: a port answers once it is opened", async () => {
    const a = lab.node('node-a');
    const b = lab.node('node-b');
    const server = b.spawn('node', [
      '-e',
      `require('node:http').createServer((q, s) => s.end(require('node:os').hostname())).listen(8080, '${b.address}', () => console.log('up'))`,
    ]);
    await new Promise((resolve) => server.stdout?.once('data', resolve));
    try {
      // GIVEN node-b's firewalld as booted (the public zone: ssh and dhcpv6-client only)
      expect((await b.run('firewall-cmd', ['--state'])).stdout.trim()).toBe('running');
      // WHEN node-a connects to 8080 THEN node-b's firewalld rejects it
      const refused = await a.run('curl', ['-sS', '--max-time', '5', `http://${b.address}:8080/`]);
      // (curl's 7: the connection was refused, here by firewalld's reject, not left to time out)
      expect(refused.code).toBe(7);
      // WHEN the port is opened in node-b's firewalld THEN the same request is answered
      await openFirewalldPorts(b, ['8080/tcp']);
      const fetched = await a.run('curl', ['-sS', '--max-time', '5', `http://${b.address}:8080/`]);
      expect(fetched).toMatchObject({ code: 0, stdout: 'node-b' });
      // AND the rules are nftables rules in node-b's own network namespace, not the host's
      expect((await b.run('nft', ['list', 'chain', 'inet', 'firewalld', 'filter_IN_public_allow'])).stdout).toContain(
        'tcp dport 8080',
      );
      expect((await a.run('nft', ['list', 'ruleset'])).stdout).not.toContain('8080');
    } finally {
      server.kill();
    }
    const addr = await b.run('ip', ['-4', '-o', 'addr', 'show', 'eth0']);
    expect(addr.stdout).toContain('10.231.250.12/24');
  });

  it("runs the real sysctl: the node's network keys change in its own namespace only, and an unknown key fails", async () => {
    const a = lab.node('node-a');
    const b = lab.node('node-b');
    expect((await a.run('sh', ['-c', 'command -v sysctl'])).stdout.trim()).toMatch(/^\/(usr\/)?s?bin\/sysctl$/);
    const hostValue = readFileSync('/proc/sys/net/ipv4/conf/all/accept_local', 'utf8').trim();
    const wanted = hostValue === '1' ? '0' : '1';
    await a.run('sh', ['-c', `printf 'net.ipv4.conf.all.accept_local = ${wanted}\\n' > /etc/sysctl.d/90-probe.conf`]);
    expect((await a.run('sysctl', ['-p', '/etc/sysctl.d/90-probe.conf'])).code).toBe(0);
    expect((await a.run('cat', ['/proc/sys/net/ipv4/conf/all/accept_local'])).stdout.trim()).toBe(wanted);
    expect((await b.run('cat', ['/proc/sys/net/ipv4/conf/all/accept_local'])).stdout.trim()).toBe(hostValue);
    expect(readFileSync('/proc/sys/net/ipv4/conf/all/accept_local', 'utf8').trim()).toBe(hostValue);
    // (procps reports a key the kernel lacks and exits non-zero; the stand-in it replaces accepted anything)
    await a.run('sh', ['-c', "printf 'net.ipv4.no_such_key = 1\\n' > /etc/sysctl.d/91-stale.conf"]);
    const stale = await a.run('sysctl', ['-p', '/etc/sysctl.d/91-stale.conf']);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('no_such_key');
  });

  it('leaves nothing behind after teardown: namespaces, mounts, processes, directory', async () => {
    // GIVEN a third node with a long-running process in it
    const c = await lab.addNode('node-c', 13);
    c.spawn('sleep', ['600']);
    const inode = c.netnsInode;
    // (the holder, the sleep, and the node's firewalld and its D-Bus)
    expect(processesInNetns(inode).length).toBeGreaterThanOrEqual(4);
    // WHEN the lab is torn down
    await lab.teardown();
    // THEN no namespace, mount, process or directory of it remains
    expect(lab.leftovers()).toEqual([]);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(lab.prefix);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(lab.prefix);
    expect(processesInNetns(inode)).toEqual([]);
    expect(existsSync(lab.dir)).toBe(false);
  });
});
