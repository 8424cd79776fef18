/**
 * Every step kind the coordinator runs itself (the plan puts them on the coordinator's own node).
 * To add one: write its definition in this folder and add one entry below.
 */

import { agentsConnectedStep } from './agents-connected.ts';
import type { CoordinatorStepDefinition } from './coordinator-step.ts';
import { crossNodeChecksStep } from './cross-node-checks.ts';
import { failoverDrillStep } from './failover-drill.ts';

const definitions: CoordinatorStepDefinition[] = [crossNodeChecksStep, agentsConnectedStep, failoverDrillStep];

const registry: ReadonlyMap<string, CoordinatorStepDefinition> = new Map(definitions.map((d) => [d.kind, d]));

export function coordinatorStepDefinition(kind: string): CoordinatorStepDefinition | undefined {
  return registry.get(kind);
}
