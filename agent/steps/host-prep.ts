import { cidrProblem } from '../kubeadm/kubeadm-patterns.ts';
import { plannedStep } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams } from '../step-execution/step-params.ts';
import { firewallPart } from './host-prep/firewall.ts';
import { type HostPrepParams, HostPrepParamsSchema, type HostPrepPart } from './host-prep/host-prep-params.ts';
import { hostnamePart } from './host-prep/hostname.ts';
import { hostsPart } from './host-prep/hosts.ts';
import { kernelPart } from './host-prep/kernel.ts';
import { selinuxPart } from './host-prep/selinux.ts';
import { swapPart } from './host-prep/swap.ts';

export { cniInterfaces, firewallRulesFor, podZone, vrrpRichRule } from './host-prep/firewall.ts';
export type { HostPrepParams } from './host-prep/host-prep-params.ts';

/** The parts in the order they run: the names first, then swap and SELinux, the firewall, and the kernel last. */
export const hostPrepParts: readonly HostPrepPart[] = [
  hostnamePart,
  hostsPart,
  swapPart,
  selinuxPart,
  firewallPart,
  kernelPart,
];

/**
 * Everything the kubelet and the CNI need from the OS: hostname, /etc/hosts, swap off (now and after reboot),
 * SELinux, firewalld, kernel modules and sysctls. Each part reads first and changes only what differs.
 */
export const hostPrepStep = plannedStep<HostPrepParams>({
  kind: 'host-prep',
  parseParams(raw) {
    return parseStepParams('host-prep', HostPrepParamsSchema, raw, (p) => [
      ...p.nodes.flatMap((n, i) =>
        isIpAddress(n.address) ? [] : [`nodes[${i}].address: not an IPv4 or IPv6 address`],
      ),
      ...(p.lbPort === 6443 ? ['lbPort: 6443 is the local apiserver port; HAProxy needs another port'] : []),
      ...(p.podSubnet === ''
        ? []
        : [cidrProblem(p.podSubnet)].filter((m) => m !== undefined).map((m) => `podSubnet: ${m}`)),
    ]);
  },
  async plan(ctx) {
    const changes = [];
    for (const part of hostPrepParts) changes.push(...(await part.plan(ctx)));
    return changes;
  },
});
