import { ensureUnit, unitIsActive } from '../../os-actions/ensure-unit.ts';
import type { PlannedChange } from '../../step-execution/step.ts';
import { type HostPrepParams, type HostPrepPart, words } from './host-prep-params.ts';

export const vrrpRichRule = 'rule protocol value="vrrp" accept';
/** The zone whose target is ACCEPT for input and forwarding alike, in firewalld 0.9 (EL8) and 1.x. */
export const podZone = 'trusted';

/** The interfaces the CNI creates on every node; firewalld matches `name+` as a prefix. */
export function cniInterfaces(cni: HostPrepParams['cni']): string[] {
  return cni === 'flannel' ? ['cni0', 'flannel.1'] : ['cali+', 'tunl0', 'vxlan.calico'];
}

/** Inbound ports and rich rules a node of this role needs open: the Kubernetes ports of its role, the CNI's, VRRP. */
export function firewallRulesFor(params: Pick<HostPrepParams, 'role' | 'cni' | 'lbPort'>): {
  ports: string[];
  richRules: string[];
} {
  const lb = params.lbPort > 0 ? [`${params.lbPort}/tcp`] : [];
  const cniPorts = params.cni === 'flannel' ? ['8472/udp'] : ['179/tcp', '4789/udp', '5473/tcp'];
  const cniRules = params.cni === 'calico' ? ['rule protocol value="4" accept'] : [];
  switch (params.role) {
    case 'control-plane':
      return {
        ports: ['6443/tcp', '2379-2380/tcp', '10250/tcp', '10256/tcp', '10257/tcp', '10259/tcp', ...lb, ...cniPorts],
        richRules: [vrrpRichRule, ...cniRules],
      };
    case 'worker':
      return { ports: ['10250/tcp', '10256/tcp', '30000-32767/tcp', ...cniPorts], richRules: cniRules };
    case 'load-balancer':
      return { ports: lb, richRules: [vrrpRichRule] };
  }
}

/**
 * managed (the default): firewalld, when it runs, opens the ports of the node's role and trusts the pod network,
 * permanently, and is reloaded when its running rules lag. disabled: firewalld stopped and disabled.
 */
export const firewallPart: HostPrepPart = {
  name: 'firewall',
  async plan(ctx) {
    const { host, params } = ctx;
    if (params.firewall === 'disabled') {
      return ensureUnit(host, 'firewalld', { active: false, enabled: false }, 'spec: firewall disabled');
    }
    if (!(await unitIsActive(host, 'firewalld'))) {
      ctx.log('firewalld is not running: no ports to open');
      return [];
    }
    const wanted = firewallRulesFor(params);
    const list = async (permanent: boolean, what: 'ports' | 'rich-rules') => {
      const args = [...(permanent ? ['--permanent'] : []), `--list-${what}`];
      const { stdout } = await host.exec('firewall-cmd', args);
      // firewall-cmd prints a notice on stdout about the default zone once another zone has interfaces.
      return what === 'ports'
        ? words(stdout).filter((w) => /^\d+(-\d+)?\/[a-z]+$/.test(w))
        : stdout
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l.startsWith('rule '));
    };
    const permanentPorts = await list(true, 'ports');
    const permanentRules = await list(true, 'rich-rules');
    const missingPorts = wanted.ports.filter((p) => !permanentPorts.includes(p));
    const missingRules = wanted.richRules.filter((r) => !permanentRules.includes(r));
    const changes: PlannedChange[] = [];
    if (missingPorts.length > 0) {
      changes.push({
        description: `open ${missingPorts.join(', ')} in firewalld (permanent)`,
        apply: async () =>
          void (await host.exec('firewall-cmd', ['--permanent', ...missingPorts.map((p) => `--add-port=${p}`)])),
      });
    }
    for (const rule of missingRules) {
      changes.push({
        description: `add the firewalld rich rule '${rule}' (permanent)`,
        apply: async () => void (await host.exec('firewall-cmd', ['--permanent', `--add-rich-rule=${rule}`])),
      });
    }
    // firewalld ends its FORWARD chain with a reject and forwards only out of (or in from) a zone that allows it; the
    // default zone's catch-all is skipped for forwarded traffic. Pod traffic between nodes is forwarded into the CNI's
    // interfaces, so they and the pod network belong to the trusted zone.
    const pod = { interfaces: cniInterfaces(params.cni), sources: params.podSubnet ? [params.podSubnet] : [] };
    const listZone = async (permanent: boolean, what: 'interfaces' | 'sources') =>
      words(
        (
          await host.exec('firewall-cmd', [
            ...(permanent ? ['--permanent'] : []),
            `--zone=${podZone}`,
            `--list-${what}`,
          ])
        ).stdout,
      );
    const permanentInterfaces = await listZone(true, 'interfaces');
    const permanentSources = await listZone(true, 'sources');
    const unboundInterfaces = pod.interfaces.filter((i) => !permanentInterfaces.includes(i));
    const untrustedSources = pod.sources.filter((c) => !permanentSources.includes(c));
    if (unboundInterfaces.length > 0) {
      changes.push({
        description: `put the ${params.cni} interfaces ${unboundInterfaces.join(', ')} in firewalld's ${podZone} zone (permanent), so pod traffic is forwarded`,
        apply: async () => {
          // --change-interface also moves an interface another zone holds (an add would fail with ZONE_CONFLICT).
          for (const i of unboundInterfaces) {
            await host.exec('firewall-cmd', ['--permanent', `--zone=${podZone}`, `--change-interface=${i}`]);
          }
        },
      });
    }
    if (untrustedSources.length > 0) {
      changes.push({
        description: `trust the pod network ${untrustedSources.join(', ')} in firewalld's ${podZone} zone (permanent)`,
        apply: async () =>
          void (await host.exec('firewall-cmd', [
            '--permanent',
            `--zone=${podZone}`,
            ...untrustedSources.map((c) => `--add-source=${c}`),
          ])),
      });
    }
    const runtimePorts = await list(false, 'ports');
    const runtimeRules = await list(false, 'rich-rules');
    const runtimeInterfaces = await listZone(false, 'interfaces');
    const runtimeSources = await listZone(false, 'sources');
    const runtimeBehind =
      wanted.ports.some((p) => !runtimePorts.includes(p)) ||
      wanted.richRules.some((r) => !runtimeRules.includes(r)) ||
      pod.interfaces.some((i) => !runtimeInterfaces.includes(i)) ||
      pod.sources.some((c) => !runtimeSources.includes(c));
    if (changes.length > 0 || runtimeBehind) {
      changes.push({
        description: 'reload firewalld so the permanent rules apply now',
        apply: async () => void (await host.exec('firewall-cmd', ['--reload'])),
      });
    }
    return changes;
  },
};
