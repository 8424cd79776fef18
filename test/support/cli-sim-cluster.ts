import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import type { startSimFleet } from '../sim/sim-fleet.ts';
import type { SimTestState } from '../sim/sim-test-state.ts';
import { type CommandResult, runKubehaCli } from './run-command.ts';

export type KubehaCli = (args: string[]) => Promise<CommandResult>;

/** The CLI against the test's coordinator, with the test's scratch directory as HOME (made here, removed after it). */
export function cliOf(t: SimTestState): KubehaCli {
  t.dir ??= mkdtempSync(join(tmpdir(), 'kubeha-cli-'));
  const home = t.dir;
  return (args) => runKubehaCli(t.sim!.coordinator, args, { HOME: home });
}

/** A coordinator and a simulated fleet, the fleet's cluster applied (and deployed) by `kubeha apply -f`. */
export async function appliedWithCli(
  t: SimTestState,
  fleetOptions: Parameters<typeof startSimFleet>[1],
): Promise<{ kubeha: KubehaCli } & Awaited<ReturnType<SimTestState['startFleet']>>> {
  const started = await t.startFleet(fleetOptions);
  const kubeha = cliOf(t);
  const file = join(t.dir!, 'cluster.yaml');
  writeFileSync(file, stringify(started.spec));
  const applied = await kubeha(['apply', '-f', file]);
  expect(applied.code, applied.stderr).toBe(0);
  return { kubeha, ...started };
}
