/**
 * Packages and systemd units for step tests, answered the way rpm and systemctl print them, so a test states what
 * is installed and running instead of scripting each query:
 *
 *   const os = fakeOsState(host, { packages: { keepalived: '2.2.8' }, units: { keepalived: { enabled: true } } });
 *   host.expect('systemctl', ['enable', '--now', 'haproxy'], { effect: () => os.setUnit('haproxy', { active: true }) });
 */
import type { FakeHost } from './fake-host.ts';

export interface FakeUnit {
  enabled: boolean;
  active: boolean;
}

export interface FakeOsState {
  /** name -> version of the installed packages. */
  readonly packages: Record<string, string>;
  readonly units: Record<string, FakeUnit>;
  install(name: string, version?: string): void;
  setUnit(unit: string, state: Partial<FakeUnit>): void;
}

/**
 * Stubs `rpm -q --queryformat '%{NAME} %{VERSION}\n' NAMES...` for every set of names in `queries`, and
 * `systemctl is-enabled UNIT` / `systemctl is-active UNIT` for every unit named in `units`.
 */
export function fakeOsState(
  host: FakeHost,
  init: {
    packages?: Record<string, string>;
    units?: Record<string, Partial<FakeUnit>>;
    queries?: readonly (readonly string[])[];
  },
): FakeOsState {
  const state: FakeOsState = {
    packages: { ...init.packages },
    units: Object.fromEntries(
      Object.entries(init.units ?? {}).map(([u, s]) => [u, { enabled: false, active: false, ...s }]),
    ),
    install(name, version = '1.0.0') {
      state.packages[name] = version;
    },
    setUnit(unit, s) {
      state.units[unit] = { enabled: false, active: false, ...state.units[unit], ...s };
    },
  };
  for (const names of init.queries ?? []) {
    host.stub('rpm', ['-q', '--queryformat', '%{NAME} %{VERSION}\\n', ...names], {
      exitCode: () => names.filter((n) => state.packages[n] === undefined).length,
      stdout: () =>
        names
          .map((n) =>
            state.packages[n] === undefined ? `package ${n} is not installed\n` : `${n} ${state.packages[n]}\n`,
          )
          .join(''),
    });
  }
  for (const unit of Object.keys(state.units)) {
    host.stub('systemctl', ['is-enabled', unit], {
      exitCode: () => (state.units[unit]?.enabled ? 0 : 1),
      stdout: () => (state.units[unit]?.enabled ? 'enabled\n' : 'disabled\n'),
    });
    host.stub('systemctl', ['is-active', unit], {
      exitCode: () => (state.units[unit]?.active ? 0 : 3),
      stdout: () => (state.units[unit]?.active ? 'active\n' : 'inactive\n'),
    });
  }
  return state;
}
