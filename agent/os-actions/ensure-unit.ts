import type { Host } from '../host/host.ts';
import type { PlannedChange } from '../step-execution/step.ts';

/**
 * systemd units as the steps see them. Each state is read as systemctl prints it (`is-active` says "active",
 * `is-enabled` says "enabled"): a unit that is absent, masked, static or failed is neither.
 */

/** The units of `units` that are active, from one `systemctl is-active` (it prints one state per unit, in order). */
export async function activeUnits(host: Host, units: readonly string[]): Promise<string[]> {
  if (units.length === 0) return [];
  const { stdout } = await host.exec('systemctl', ['is-active', ...units], { allowFailure: true });
  const states = stdout.split('\n').map((l) => l.trim());
  return units.filter((_, i) => states[i] === 'active');
}

export async function unitIsActive(host: Host, unit: string): Promise<boolean> {
  return (await activeUnits(host, [unit])).length === 1;
}

export async function unitIsEnabled(host: Host, unit: string): Promise<boolean> {
  return (await host.exec('systemctl', ['is-enabled', unit], { allowFailure: true })).stdout.trim() === 'enabled';
}

/** What a step wants of a unit; a state left undefined is neither read nor changed. */
export interface WantedUnitState {
  enabled?: boolean;
  active?: boolean;
}

/**
 * Reads the unit's states that `wanted` names and plans the systemctl command that brings them there: one
 * `enable --now` or `disable --now` when both move the same way, otherwise one command per state.
 * The dry-run line names the command, or `because` ("spec: firewall disabled") when the reason says more.
 */
export async function ensureUnit(
  host: Host,
  unit: string,
  wanted: WantedUnitState,
  because?: string,
): Promise<PlannedChange[]> {
  const activeWrong = wanted.active !== undefined && (await unitIsActive(host, unit)) !== wanted.active;
  const enabledWrong = wanted.enabled !== undefined && (await unitIsEnabled(host, unit)) !== wanted.enabled;
  if (!enabledWrong && !activeWrong) return [];
  const change = (what: string, args: string[]): PlannedChange => ({
    description: `${what} ${unit} (${because ?? `systemctl ${args.join(' ')}`})`,
    apply: async () => void (await host.exec('systemctl', args)),
  });
  if (wanted.enabled !== undefined && wanted.enabled === wanted.active) {
    return wanted.enabled
      ? [change('enable and start', ['enable', '--now', unit])]
      : [change('stop and disable', ['disable', '--now', unit])];
  }
  const changes: PlannedChange[] = [];
  if (enabledWrong) {
    changes.push(wanted.enabled ? change('enable', ['enable', unit]) : change('disable', ['disable', unit]));
  }
  if (activeWrong) {
    changes.push(wanted.active ? change('start', ['start', unit]) : change('stop', ['stop', unit]));
  }
  return changes;
}

export type UnitVerb = 'start' | 'stop' | 'restart' | 'reload' | 'reload-or-restart';

/** One systemctl verb on a unit, for what a state cannot say: load a new configuration, stop for a drill. */
export async function runUnitCommand(host: Host, verb: UnitVerb, unit: string): Promise<void> {
  await host.exec('systemctl', [verb, unit]);
}
