// What `npm run lab` needs on the machine before it builds a lab, and how it gets it: the lab's Debian (or EL)
// packages are installed by the lab itself when it runs as root with apt-get or dnf, saying what and why.

export interface LabTool {
  command: string;
  /** A call that succeeds when the program is there. */
  args: string[];
  apt: string;
  dnf: string;
  /** What the lab uses it for, said when it is installed. */
  why: string;
}

export const labTools: readonly LabTool[] = [
  { command: 'keepalived', args: ['--version'], apt: 'keepalived', dnf: 'keepalived', why: 'holds the VIP' },
  { command: 'haproxy', args: ['-v'], apt: 'haproxy', dnf: 'haproxy', why: 'balances the API endpoint' },
  { command: 'ip', args: ['-V'], apt: 'iproute2', dnf: 'iproute', why: 'builds the lab network' },
  { command: 'curl', args: ['--version'], apt: 'curl', dnf: 'curl', why: 'probes /readyz' },
  { command: 'openssl', args: ['version'], apt: 'openssl', dnf: 'openssl', why: 'reads certificates' },
  { command: 'nsenter', args: ['--version'], apt: 'util-linux', dnf: 'util-linux', why: 'enters lab nodes' },
  { command: 'firewall-cmd', args: ['--version'], apt: 'firewalld', dnf: 'firewalld', why: "each node's firewall" },
  { command: 'dbus-daemon', args: ['--version'], apt: 'dbus', dnf: 'dbus-daemon', why: "firewalld's bus" },
];

export type PackageManager = 'apt-get' | 'dnf';

/** The machine as the set-up sees it; the lab passes the real one, tests a recording fake. */
export interface SetupHost {
  isRoot: boolean;
  packageManager: PackageManager | undefined;
  /** Whether `command args` runs (the program is installed). */
  runs(command: string, args: readonly string[]): boolean;
  /** Runs a command with its output on the terminal; its exit status. */
  run(command: string, args: readonly string[]): number;
}

export type SetupOutcome = { ok: true } | { ok: false; exitCode: 1 | 2 };

/** The commands that install the packages of `missing`: apt-get refreshes its lists first. */
export function installCommands(manager: PackageManager, missing: readonly LabTool[]): [string, string[]][] {
  const packages = [...new Set(missing.map((t) => (manager === 'apt-get' ? t.apt : t.dnf)))];
  return manager === 'apt-get'
    ? [
        ['apt-get', ['update']],
        ['apt-get', ['install', '-y', ...packages]],
      ]
    : [['dnf', ['install', '-y', ...packages]]];
}

/** The commands as one shell line; `sudo` goes before each of them, or the second would run without root. */
const commandLine = (commands: [string, string[]][], sudo = false) =>
  commands.map(([c, a]) => [...(sudo ? ['sudo'] : []), c, ...a].join(' ')).join(' && ');

/**
 * Makes sure the lab's programs are there: nothing to do when they are; as root with apt-get or dnf, installs the
 * missing packages (each with its reason) unless `install` is false; otherwise says exactly what to run.
 */
export function ensureLabPackages(
  host: SetupHost,
  options: { install: boolean },
  log: (line: string) => void,
): SetupOutcome {
  const missing = labTools.filter((t) => !host.runs(t.command, t.args));
  if (missing.length === 0) return { ok: true };
  const what = missing.map((t) => `${t.command} (${t.why})`).join(', ');
  if (!host.packageManager) {
    log(
      `the lab needs ${what}; neither apt-get nor dnf is here to install them: install ` +
        `${missing.map((t) => t.apt).join(' ')} (Debian names) with this system's package manager`,
    );
    return { ok: false, exitCode: 2 };
  }
  const commands = installCommands(host.packageManager, missing);
  if (!options.install || !host.isRoot) {
    log(
      `the lab needs ${what}. ${options.install ? 'Installing them needs root' : 'Not installing them (--no-install)'}; run:\n` +
        `  ${commandLine(commands, !host.isRoot)}\n` +
        `then ${host.isRoot ? '' : 'sudo '}npm run lab again`,
    );
    return { ok: false, exitCode: 2 };
  }
  log(`the lab needs ${what}: installing them (--no-install to refuse): ${commandLine(commands)}`);
  for (const [command, args] of commands) {
    const status = host.run(command, args);
    if (status !== 0) {
      log(
        `${[command, ...args].join(' ')} failed (exit ${status}): install the packages by hand and run the lab again`,
      );
      return { ok: false, exitCode: 1 };
    }
  }
  const still = labTools.filter((t) => !host.runs(t.command, t.args));
  if (still.length > 0) {
    log(`still missing after the install: ${still.map((t) => t.command).join(', ')}`);
    return { ok: false, exitCode: 1 };
  }
  log(`installed: ${[...new Set(missing.map((t) => (host.packageManager === 'apt-get' ? t.apt : t.dnf)))].join(', ')}`);
  return { ok: true };
}

/** The oldest Go the Kubernetes modules the lab builds accept. */
export const minimumGo = { major: 1, minor: 26 };

/**
 * Whether the real control plane can be built, from `go version`'s output (undefined: no Go): when it cannot, the
 * lab runs its stand-ins and says why and what to install. Go is not installed by the lab: the distributions' Go
 * packages are older than the Kubernetes modules need.
 */
export function goVerdict(goVersionOutput: string | undefined): { buildable: boolean; message: string } {
  const wanted = `Go ${minimumGo.major}.${minimumGo.minor} or newer`;
  const install = `install ${wanted} from https://go.dev/dl/ (tar -C /usr/local -xzf go*.linux-amd64.tar.gz; PATH=/usr/local/go/bin:$PATH) for the real kubeadm, kube-apiserver and etcd`;
  if (goVersionOutput === undefined) {
    return { buildable: false, message: `stand-in control plane: Go is missing; ${install}` };
  }
  const match = /go(\d+)\.(\d+)/.exec(goVersionOutput);
  if (!match)
    return { buildable: false, message: `stand-in control plane: cannot read "${goVersionOutput.trim()}"; ${install}` };
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major < minimumGo.major || (major === minimumGo.major && minor < minimumGo.minor)) {
    return {
      buildable: false,
      message: `stand-in control plane: go${major}.${minor} is older than ${wanted}; ${install}`,
    };
  }
  return {
    buildable: true,
    message: `go${major}.${minor}: building (or taking from the cache) the real Kubernetes programs`,
  };
}
