import { describe, expect, it } from 'vitest';
import { ensureLabPackages, goVerdict, labTools, type PackageManager, type SetupHost } from './lab-setup.ts';

/** A machine with some programs; installing a package adds the programs it provides. Records every command run. */
function fakeMachine(options: {
  isRoot: boolean;
  packageManager: PackageManager | undefined;
  present: string[];
  failing?: string;
}): SetupHost & { ran: string[] } {
  const present = new Set(options.present);
  const ran: string[] = [];
  return {
    isRoot: options.isRoot,
    packageManager: options.packageManager,
    ran,
    runs: (command) => present.has(command),
    run: (command, args) => {
      const line = [command, ...args].join(' ');
      ran.push(line);
      if (options.failing && line.startsWith(options.failing)) return 100;
      if (args[0] === 'install') {
        for (const t of labTools) if (args.includes(command === 'apt-get' ? t.apt : t.dnf)) present.add(t.command);
      }
      return 0;
    },
  };
}

const all = labTools.map((t) => t.command);
const without = (...missing: string[]) => all.filter((c) => !missing.includes(c));

describe('the lab set-up', () => {
  it('GIVEN every program present THEN nothing runs and nothing is said', () => {
    const machine = fakeMachine({ isRoot: true, packageManager: 'apt-get', present: all });
    const said: string[] = [];
    expect(ensureLabPackages(machine, { install: true }, (l) => said.push(l))).toEqual({ ok: true });
    expect(machine.ran).toEqual([]);
    expect(said).toEqual([]);
  });

  it('GIVEN root on Debian without keepalived and firewalld THEN apt-get update and install exactly their packages, saying what and why', () => {
    const machine = fakeMachine({
      isRoot: true,
      packageManager: 'apt-get',
      present: without('keepalived', 'firewall-cmd'),
    });
    const said: string[] = [];
    expect(ensureLabPackages(machine, { install: true }, (l) => said.push(l))).toEqual({ ok: true });
    expect(machine.ran).toEqual(['apt-get update', 'apt-get install -y keepalived firewalld']);
    expect(said[0]).toBe(
      "the lab needs keepalived (holds the VIP), firewall-cmd (each node's firewall): installing them (--no-install to refuse): apt-get update && apt-get install -y keepalived firewalld",
    );
    expect(said.at(-1)).toBe('installed: keepalived, firewalld');
  });

  it('GIVEN root on EL without ip and dbus THEN dnf installs the EL package names', () => {
    const machine = fakeMachine({ isRoot: true, packageManager: 'dnf', present: without('ip', 'dbus-daemon') });
    expect(ensureLabPackages(machine, { install: true }, () => {})).toEqual({ ok: true });
    expect(machine.ran).toEqual(['dnf install -y iproute dbus-daemon']);
  });

  it('GIVEN --no-install, or no root THEN nothing is installed and the exact command is printed (with sudo when not root)', () => {
    const refused = fakeMachine({ isRoot: true, packageManager: 'apt-get', present: without('haproxy') });
    const said: string[] = [];
    expect(ensureLabPackages(refused, { install: false }, (l) => said.push(l))).toEqual({ ok: false, exitCode: 2 });
    expect(refused.ran).toEqual([]);
    expect(said.join('\n')).toBe(
      'the lab needs haproxy (balances the API endpoint). Not installing them (--no-install); run:\n' +
        '  apt-get update && apt-get install -y haproxy\nthen npm run lab again',
    );

    const user = fakeMachine({ isRoot: false, packageManager: 'dnf', present: without('haproxy', 'curl') });
    const told: string[] = [];
    expect(ensureLabPackages(user, { install: true }, (l) => told.push(l))).toEqual({ ok: false, exitCode: 2 });
    expect(user.ran).toEqual([]);
    expect(told.join('\n')).toContain(
      'Installing them needs root; run:\n  sudo dnf install -y haproxy curl\nthen sudo npm run lab again',
    );

    // On Debian two commands: each gets its sudo, or the install would run without root.
    const debianUser = fakeMachine({ isRoot: false, packageManager: 'apt-get', present: without('keepalived') });
    const debianTold: string[] = [];
    expect(ensureLabPackages(debianUser, { install: true }, (l) => debianTold.push(l))).toEqual({
      ok: false,
      exitCode: 2,
    });
    expect(debianUser.ran).toEqual([]);
    expect(debianTold.join('\n')).toBe(
      'the lab needs keepalived (holds the VIP). Installing them needs root; run:\n' +
        '  sudo apt-get update && sudo apt-get install -y keepalived\nthen sudo npm run lab again',
    );
  });

  it('GIVEN a failing install or no package manager THEN the lab stops with the failed command or what to install', () => {
    const failing = fakeMachine({
      isRoot: true,
      packageManager: 'apt-get',
      present: without('keepalived'),
      failing: 'apt-get install',
    });
    const said: string[] = [];
    expect(ensureLabPackages(failing, { install: true }, (l) => said.push(l))).toEqual({ ok: false, exitCode: 1 });
    expect(said.at(-1)).toBe(
      'apt-get install -y keepalived failed (exit 100): install the packages by hand and run the lab again',
    );

    const bare = fakeMachine({ isRoot: true, packageManager: undefined, present: without('curl') });
    const told: string[] = [];
    expect(ensureLabPackages(bare, { install: true }, (l) => told.push(l))).toEqual({ ok: false, exitCode: 2 });
    expect(told[0]).toContain('neither apt-get nor dnf is here to install them: install curl');
  });

  it('GIVEN go version outputs THEN only Go 1.26 or newer builds the real control plane; otherwise the stand-ins, with what to install', () => {
    expect(goVerdict('go version go1.26.8 linux/amd64\n').buildable).toBe(true);
    expect(goVerdict('go version go2.0.1 linux/amd64').buildable).toBe(true);
    const old = goVerdict('go version go1.22.2 linux/amd64');
    expect(old.buildable).toBe(false);
    expect(old.message).toMatch(/^stand-in control plane: go1\.22 is older than Go 1\.26 or newer; install Go 1\.26/);
    const none = goVerdict(undefined);
    expect(none.buildable).toBe(false);
    expect(none.message).toContain('Go is missing; install Go 1.26 or newer from https://go.dev/dl/');
  });
});
