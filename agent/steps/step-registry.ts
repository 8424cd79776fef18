/**
 * Every step kind the agent knows, by its wire name. A RunStep for any other kind is refused.
 * To add a step: import its definition and add one entry below.
 */
import { containerRuntimeStep } from './container-runtime.ts';
import { hostPrepStep } from './host-prep.ts';
import { kubePackagesStep } from './kube-packages.ts';
import { preflightStep } from './preflight.ts';
import type { StepDefinition } from './step.ts';

const definitions: StepDefinition<unknown>[] = [
  // Node preparation (issue 3).
  preflightStep,
  hostPrepStep,
  containerRuntimeStep,
  kubePackagesStep,
  // Further steps: one line each.
];

export const stepRegistry: ReadonlyMap<string, StepDefinition<unknown>> = new Map(definitions.map((d) => [d.kind, d]));

export function stepDefinition(kind: string): StepDefinition<unknown> | undefined {
  return stepRegistry.get(kind);
}
