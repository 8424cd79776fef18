// The real firewalld of a lab node: Debian's firewalld (nftables backend) on a D-Bus system bus of the node's own,
// both in the node's network namespace with their socket and pids in the node's private /run. The systemctl
// stand-in starts, stops and reloads them for the unit `firewalld`; the lab stops them by these pids at teardown.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabNode } from './lab-node.ts';

/** Inside the node: where the pids and the bus configuration live. */
export const firewalldRunDir = '/run/khlab-firewalld';
const busSocket = '/run/dbus/system_bus_socket';
const logDir = '/var/log/khlab-firewalld';

// No <servicedir>: nothing is bus-activated, so a stopped firewalld stays stopped when firewall-cmd asks for it.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${busSocket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
</busconfig>
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    // A zombie has ended; its parent just has not reaped it yet.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
}

function recordedPid(runDir: string, name: 'dbus' | 'firewalld'): number | undefined {
  try {
    const pid = Number(readFileSync(join(runDir, `${name}.pid`), 'utf8'));
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function startDaemon(name: 'dbus' | 'firewalld', argv: string[]): number {
  mkdirSync(logDir, { recursive: true });
  const log = openSync(join(logDir, `${name}.log`), 'a');
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  if (!child.pid) throw new Error(`${argv[0]} did not start`);
  writeFileSync(join(firewalldRunDir, `${name}.pid`), String(child.pid));
  return child.pid;
}

/** firewall-cmd --state, as the unit's readiness (firewalld is Type=dbus: started once it answers on the bus). */
function answers(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('firewall-cmd', ['--state'], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('close', (code) => resolve(code === 0));
  });
}

/** Inside the node: the firewalld main pid, when it runs. */
export function firewalldPid(): number | undefined {
  return recordedPid(firewalldRunDir, 'firewalld');
}

/** Inside the node: starts the node's system bus (once) and firewalld, and waits until firewalld answers. */
export async function startFirewalld(): Promise<void> {
  if (firewalldPid() !== undefined) return;
  mkdirSync(firewalldRunDir, { recursive: true });
  if (recordedPid(firewalldRunDir, 'dbus') === undefined) {
    mkdirSync('/run/dbus', { recursive: true });
    rmSync(busSocket, { force: true });
    const config = join(firewalldRunDir, 'system-bus.conf');
    writeFileSync(config, busConfig);
    startDaemon('dbus', ['dbus-daemon', `--config-file=${config}`, '--nofork', '--nopidfile']);
    for (let i = 0; i < 100 && !existsSync(busSocket); i++) await sleep(50);
    if (!existsSync(busSocket)) throw new Error(`the node's D-Bus system bus did not open ${busSocket}`);
  }
  const pid = startDaemon('firewalld', ['firewalld', '--nofork', '--nopid']);
  for (let i = 0; i < 150; i++) {
    if (!alive(pid)) break;
    if (await answers()) return;
    await sleep(200);
  }
  const tail = readFileSync(join(logDir, 'firewalld.log'), 'utf8').split('\n').slice(-10).join('\n');
  throw new Error(`firewalld did not come up (pid ${pid}, ${alive(pid) ? 'running' : 'exited'}):\n${tail}`);
}

async function stopPid(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
    if (!alive(pid)) return;
  }
}

/** Inside the node: stops firewalld (it removes its nftables rules as it exits); the bus stays for the next start. */
export async function stopFirewalld(): Promise<void> {
  await stopPid(firewalldPid());
  rmSync(join(firewalldRunDir, 'firewalld.pid'), { force: true });
}

/** Inside the node: what `systemctl reload firewalld` does (the unit's ExecReload is kill -HUP $MAINPID). */
export function reloadFirewalld(): boolean {
  const pid = firewalldPid();
  if (pid === undefined) return false;
  process.kill(pid, 'SIGHUP');
  return true;
}

/**
 * From the host, at a node's teardown: stops the node's firewalld and its bus by the pids they were recorded with
 * (read through the node's holder process, whose root sees the node's /run).
 */
export async function stopNodeFirewalld(holderPid: number): Promise<void> {
  if (!holderPid) return;
  const runDir = `/proc/${holderPid}/root${firewalldRunDir}`;
  let netns: string;
  try {
    netns = readlinkSync(`/proc/${holderPid}/ns/net`);
  } catch {
    return;
  }
  // A recorded pid that now belongs to a process outside the node (pid reuse) is left alone.
  const inNode = (pid: number | undefined) => {
    try {
      return pid !== undefined && readlinkSync(`/proc/${pid}/ns/net`) === netns ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  await stopPid(inNode(recordedPid(runDir, 'firewalld')));
  await stopPid(inNode(recordedPid(runDir, 'dbus')));
}

/** Opens TCP/UDP ports in a node's firewalld now and across reloads (firewall-cmd in the node). */
export async function openFirewalldPorts(node: LabNode, ports: readonly string[]): Promise<void> {
  for (const permanent of [[], ['--permanent']]) {
    const r = await node.run('firewall-cmd', [...permanent, ...ports.map((p) => `--add-port=${p}`)]);
    if (r.code !== 0) {
      throw new Error(
        `node ${node.name}: firewall-cmd ${permanent.join('')} --add-port ${ports.join(' ')} exited ${r.code}: ${r.stderr.trim()}`,
      );
    }
  }
}
