// stand-in for systemctl: behaves like systemctl at its interface for the units a kubeha node has — start, stop,
// restart, reload, reload-or-restart, try-restart, status, is-active, is-enabled, enable/disable [--now], mask,
// unmask, daemon-reload, list-units — starting the REAL keepalived, haproxy and firewalld (and the stand-in kubelet
// and containerd) inside the lab node. Unit state lives in the node's /var/lib, running pids in its /run.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { firewalldPid, reloadFirewalld, startFirewalld, stopFirewalld } from '../lab-firewalld.ts';
import { isInstalled } from './package-database.ts';

interface UnitDefinition {
  /** The package that ships the unit; the unit does not exist before it is installed. */
  pkg: string;
  argv: string[];
  reloadSignal?: NodeJS.Signals;
  runtimeDirectory?: string;
}

const units: Record<string, UnitDefinition> = {
  keepalived: {
    pkg: 'keepalived',
    // Real time round-robin: the lab's shared machine (apiservers, etcd, builds on 2 cores) otherwise starves
    // keepalived past VRRP's 3 s master-down interval, and a backup takes the VIP while the master still holds it.
    argv: [
      'chrt',
      '--rr',
      '10',
      'keepalived',
      '--dont-fork',
      '--log-console',
      '--log-detail',
      '-f',
      '/etc/keepalived/keepalived.conf',
    ],
    reloadSignal: 'SIGHUP',
  },
  haproxy: {
    pkg: 'haproxy',
    argv: ['haproxy', '-Ws', '-f', '/etc/haproxy/haproxy.cfg', '-p', '/run/haproxy.pid'],
    reloadSignal: 'SIGUSR2',
    runtimeDirectory: '/run/haproxy',
  },
  kubelet: { pkg: 'kubelet', argv: ['kubelet'] },
  containerd: { pkg: 'containerd.io', argv: ['containerd'] },
  chronyd: { pkg: 'chrony', argv: ['sleep', 'infinity'] },
  firewalld: { pkg: 'firewalld', argv: ['firewalld'] },
};

const stateDir = '/var/lib/systemd-stand-in';
const runDir = '/run/systemd-stand-in';
const logDir = '/var/log/systemd-stand-in';

interface UnitFileState {
  enabled: boolean;
  masked: boolean;
}

function unitName(arg: string): string {
  return arg.replace(/\.service$/, '');
}

function fileStates(): Record<string, UnitFileState> {
  try {
    return JSON.parse(readFileSync(`${stateDir}/units.json`, 'utf8')) as Record<string, UnitFileState>;
  } catch {
    return {};
  }
}

function saveFileStates(states: Record<string, UnitFileState>): void {
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(`${stateDir}/units.json`, JSON.stringify(states, null, 2));
}

function exists(name: string): boolean {
  const unit = units[name];
  return unit !== undefined && isInstalled(unit.pkg);
}

function mainPid(name: string): number | undefined {
  if (name === 'firewalld') return firewalldPid();
  try {
    const pid = Number(readFileSync(`${runDir}/${name}.pid`, 'utf8'));
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie has ended; its parent just has not reaped it yet.
    return stat.split(') ')[1]?.startsWith('Z') ? undefined : pid;
  } catch {
    return undefined;
  }
}

function activeState(name: string): 'active' | 'inactive' | 'failed' {
  if (mainPid(name) !== undefined) return 'active';
  return existsSync(`${runDir}/${name}.failed`) ? 'failed' : 'inactive';
}

function enabledState(name: string): string {
  const state = fileStates()[name];
  if (state?.masked) return 'masked';
  return state?.enabled ? 'enabled' : 'disabled';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function start(name: string): Promise<number> {
  if (!exists(name)) {
    process.stderr.write(`Failed to start ${name}.service: Unit ${name}.service not found.\n`);
    return 5;
  }
  if (fileStates()[name]?.masked) {
    process.stderr.write(`Failed to start ${name}.service: Unit ${name}.service is masked.\n`);
    return 1;
  }
  if (activeState(name) === 'active') return 0;
  if (name === 'firewalld') return startFirewalldUnit();
  const unit = units[name]!;
  mkdirSync(runDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  if (unit.runtimeDirectory) mkdirSync(unit.runtimeDirectory, { recursive: true });
  rmSync(`${runDir}/${name}.failed`, { force: true });
  const log = openSync(`${logDir}/${name}.log`, 'a');
  const child = spawn(unit.argv[0]!, unit.argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const pid = await new Promise<number | undefined>((resolve) => {
    child.once('spawn', () => resolve(child.pid));
    child.once('error', () => resolve(undefined));
  });
  if (pid === undefined) {
    writeFileSync(`${runDir}/${name}.failed`, '');
    process.stderr.write(`Job for ${name}.service failed because the control process exited with error code.\n`);
    return 1;
  }
  writeFileSync(`${runDir}/${name}.pid`, String(pid));
  let exitCode: number | null = null;
  child.once('exit', (code) => {
    exitCode = code ?? 1;
  });
  child.unref();
  // A daemon that dies at once (bad configuration) fails the start, as Type=notify units do.
  await sleep(300);
  if (exitCode !== null) {
    writeFileSync(`${runDir}/${name}.failed`, '');
    rmSync(`${runDir}/${name}.pid`, { force: true });
    process.stderr.write(
      `Job for ${name}.service failed because the control process exited with error code.\nSee "systemctl status ${name}.service" and "journalctl -xeu ${name}.service" for details.\n`,
    );
    return 1;
  }
  return 0;
}

async function startFirewalldUnit(): Promise<number> {
  mkdirSync(runDir, { recursive: true });
  rmSync(`${runDir}/firewalld.failed`, { force: true });
  try {
    await startFirewalld();
    return 0;
  } catch (error) {
    writeFileSync(`${runDir}/firewalld.failed`, '');
    process.stderr.write(
      `Job for firewalld.service failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
}

async function stop(name: string): Promise<number> {
  if (!exists(name)) {
    process.stderr.write(`Failed to stop ${name}.service: Unit ${name}.service not loaded.\n`);
    return 5;
  }
  if (name === 'firewalld') {
    await stopFirewalld();
    return 0;
  }
  const pid = mainPid(name);
  if (pid !== undefined) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      process.kill(pid, 'SIGTERM');
    }
    for (let i = 0; i < 100 && mainPid(name) !== undefined; i++) await sleep(50);
    if (mainPid(name) !== undefined) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
  }
  rmSync(`${runDir}/${name}.pid`, { force: true });
  return 0;
}

async function reload(name: string): Promise<number> {
  if (name === 'firewalld' && reloadFirewalld()) return 0;
  const pid = mainPid(name);
  const signal = units[name]?.reloadSignal;
  if (pid === undefined || !signal) {
    process.stderr.write(
      `Failed to reload ${name}.service: Job type reload is not applicable for unit ${name}.service.\n`,
    );
    return 1;
  }
  process.kill(pid, signal);
  return 0;
}

function setFileState(names: string[], change: Partial<UnitFileState>, verb: string): number {
  const states = fileStates();
  for (const name of names) {
    if (!exists(name) && verb !== 'mask') {
      process.stderr.write(`Failed to ${verb} unit: Unit file ${name}.service does not exist.\n`);
      return 1;
    }
    if (verb === 'enable' && states[name]?.masked) {
      process.stderr.write(`Failed to enable unit: Unit file /etc/systemd/system/${name}.service is masked.\n`);
      return 1;
    }
    states[name] = { enabled: false, masked: false, ...states[name], ...change };
    if (verb === 'enable')
      process.stderr.write(
        `Created symlink /etc/systemd/system/multi-user.target.wants/${name}.service → /usr/lib/systemd/system/${name}.service.\n`,
      );
    if (verb === 'mask') process.stderr.write(`Created symlink /etc/systemd/system/${name} → /dev/null.\n`);
  }
  saveFileStates(states);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const quiet = argv.includes('--quiet') || argv.includes('-q');
  const now = argv.includes('--now');
  const words = argv.filter((a) => !a.startsWith('-'));
  const [verb, ...rest] = words;
  const names = rest.map(unitName);
  const say = (line: string) => {
    if (!quiet) process.stdout.write(`${line}\n`);
  };
  switch (verb) {
    case 'start':
      for (const n of names) {
        const code = await start(n);
        if (code !== 0) return code;
      }
      return 0;
    case 'stop':
      for (const n of names) await stop(n);
      return 0;
    case 'restart':
      for (const n of names) {
        await stop(n);
        const code = await start(n);
        if (code !== 0) return code;
      }
      return 0;
    case 'try-restart':
      for (const n of names) if (activeState(n) === 'active') await stop(n).then(() => start(n));
      return 0;
    case 'reload':
      for (const n of names) {
        const code = await reload(n);
        if (code !== 0) return code;
      }
      return 0;
    case 'reload-or-restart':
      for (const n of names) {
        const code = activeState(n) === 'active' ? await reload(n) : await start(n);
        if (code !== 0) return code;
      }
      return 0;
    case 'is-active': {
      const states = names.map(activeState);
      for (const s of states) say(s);
      return states.includes('active') ? 0 : 3;
    }
    case 'is-failed': {
      const states = names.map(activeState);
      for (const s of states) say(s);
      return states.includes('failed') ? 0 : 1;
    }
    case 'is-enabled': {
      let any = false;
      for (const n of names) {
        if (!exists(n) && !fileStates()[n]?.masked) {
          process.stderr.write(`Failed to get unit file state for ${n}.service: No such file or directory\n`);
          continue;
        }
        const state = enabledState(n);
        say(state);
        if (state === 'enabled') any = true;
      }
      return any ? 0 : 1;
    }
    case 'enable': {
      const code = setFileState(names, { enabled: true }, 'enable');
      if (code !== 0 || !now) return code;
      for (const n of names) {
        const started = await start(n);
        if (started !== 0) return started;
      }
      return 0;
    }
    case 'disable': {
      const code = setFileState(names, { enabled: false }, 'disable');
      if (code === 0 && now) for (const n of names) await stop(n);
      return code;
    }
    case 'mask':
      return setFileState(names, { masked: true }, 'mask');
    case 'unmask':
      return setFileState(names, { masked: false }, 'unmask');
    case 'daemon-reload':
      return 0;
    case 'status': {
      let worst = 0;
      for (const n of names) {
        if (!exists(n)) {
          process.stderr.write(`Unit ${n}.service could not be found.\n`);
          worst = 4;
          continue;
        }
        const state = activeState(n);
        const pid = mainPid(n);
        say(
          `● ${n}.service\n     Loaded: loaded (/usr/lib/systemd/system/${n}.service; ${enabledState(n)})\n     Active: ${state === 'active' ? 'active (running)' : state}${pid ? `\n   Main PID: ${pid} (${units[n]!.argv.at(units[n]!.argv[0] === 'chrt' ? 3 : 0)})` : ''}`,
        );
        if (state !== 'active') worst = Math.max(worst, 3);
      }
      return worst;
    }
    case 'list-units':
      // A lab node has no swap units (and no other units worth listing).
      return 0;
    case 'show': {
      const property = argv.find((a) => a.startsWith('--property='))?.slice(11) ?? argv[argv.indexOf('-p') + 1];
      for (const n of names) {
        if (property === 'MainPID') say(`MainPID=${mainPid(n) ?? 0}`);
        else if (property === 'ActiveState') say(`ActiveState=${activeState(n)}`);
        else
          say(
            `Id=${n}.service\nActiveState=${activeState(n)}\nMainPID=${mainPid(n) ?? 0}\nUnitFileState=${enabledState(n)}`,
          );
      }
      return 0;
    }
    default:
      process.stderr.write(`Unknown command verb '${verb ?? ''}'.\n`);
      return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
