import { type HostPrepParams, HostPrepParamsSchema } from '../../../proto/step-params/host-prep-params.ts';
import type { PlannedChange, StepContext } from '../../step-execution/step.ts';

export type { HostPrepParams };
export { HostPrepParamsSchema };

/** One part of host-prep, kubeadm-phase style: a stable name, and the changes it still has to make (reads only). */
export interface HostPrepPart {
  /** "hostname", "hosts", "swap", "selinux", "firewall", "kernel". */
  readonly name: string;
  plan(ctx: StepContext<HostPrepParams>): Promise<PlannedChange[]>;
}

export function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}
