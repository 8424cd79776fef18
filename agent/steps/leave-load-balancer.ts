import {
  type LeaveLoadBalancerParams,
  LeaveLoadBalancerParamsSchema,
} from '../../proto/step-params/leave-load-balancer-params.ts';
import type { Host } from '../host/host.ts';
import {
  canonicalAddress,
  type InterfaceAddress,
  parseInterfaceAddresses,
} from '../load-balancer/interface-addresses.ts';
import { ensureUnit } from '../os-actions/ensure-unit.ts';
import { type PlannedChange, plannedStep, type StepContext, type StepDefinition } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams } from '../step-execution/step-params.ts';

export interface LeaveLoadBalancerOptions {
  /** How long keepalived may take to drop the VIP once stopped before the step deletes the address itself. */
  vipReleaseWaitMs: number;
  pollMs: number;
}

const defaults: LeaveLoadBalancerOptions = { vipReleaseWaitMs: 10_000, pollMs: 100 };

async function vipOnThisNode(host: Host, vip: string): Promise<InterfaceAddress[]> {
  const { stdout } = await host.exec('ip', ['-o', 'address', 'show'], { onLine: () => {} });
  const wanted = canonicalAddress(vip);
  return parseInterfaceAddresses(stdout).filter((a) => a.address === wanted);
}

function deleteAddress(host: Host, a: InterfaceAddress): Promise<unknown> {
  return host.exec('ip', ['address', 'del', `${a.address}/${a.prefixLength}`, 'dev', a.interface]);
}

async function untilVipGone(ctx: StepContext<LeaveLoadBalancerParams>, options: LeaveLoadBalancerOptions) {
  const { host, params } = ctx;
  const deadline = Date.now() + options.vipReleaseWaitMs;
  let left = await vipOnThisNode(host, params.vip);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, options.pollMs));
    left = await vipOnThisNode(host, params.vip);
  }
  // keepalived drops its addresses when it stops; one still there would answer for the VIP with nothing behind it.
  for (const a of left) {
    ctx.log(
      `${a.address} is still on ${a.interface} ${options.vipReleaseWaitMs} ms after keepalived stopped: deleting it`,
    );
    await deleteAddress(host, a);
  }
}

function plan(options: LeaveLoadBalancerOptions) {
  return async (ctx: StepContext<LeaveLoadBalancerParams>): Promise<PlannedChange[]> => {
    const { host, params } = ctx;
    const changes: PlannedChange[] = [];
    // keepalived first: stopping, it advertises priority 0 and a peer takes the VIP at once; HAProxy keeps serving
    // whoever still reaches this node until the VIP has left.
    const keepalived = await ensureUnit(
      host,
      'keepalived',
      { enabled: false, active: false },
      'systemctl disable --now keepalived: the VIP moves to a peer',
    );
    for (const change of keepalived) {
      changes.push({
        description: `${change.description}; wait until ${params.vip} is off this node`,
        apply: async () => {
          await change.apply();
          await untilVipGone(ctx, options);
        },
      });
    }
    if (keepalived.length === 0) {
      for (const a of await vipOnThisNode(host, params.vip)) {
        changes.push({
          description: `ip address del ${a.address}/${a.prefixLength} dev ${a.interface} (keepalived is stopped)`,
          apply: async () => void (await deleteAddress(host, a)),
        });
      }
    }
    changes.push(...(await ensureUnit(host, 'haproxy', { enabled: false, active: false })));
    return changes;
  };
}

/**
 * Takes a node out of the cluster's load balancing before it is removed: stops and disables keepalived (the VIP goes
 * to a peer), waits until the VIP is off this node's interfaces, then stops and disables HAProxy. The agent's VRRP
 * verdict only feeds keepalived's track file, so with keepalived stopped and disabled nothing brings the VIP back.
 */
export function createLeaveLoadBalancerStep(
  options: LeaveLoadBalancerOptions = defaults,
): StepDefinition<LeaveLoadBalancerParams> {
  return plannedStep<LeaveLoadBalancerParams>({
    kind: 'leave-load-balancer',
    parseParams: (raw) =>
      parseStepParams('leave-load-balancer', LeaveLoadBalancerParamsSchema, raw, (p) =>
        isIpAddress(p.vip) ? [] : ['vip: not an IP address'],
      ),
    plan: plan(options),
  });
}

export const leaveLoadBalancerStep = createLeaveLoadBalancerStep();
