import { type LoadBalancerParams, LoadBalancerParamsSchema } from '../../proto/step-params/load-balancer-params.ts';
import { type HaproxyConfigInput, renderHaproxyConfig } from '../load-balancer/haproxy-config.ts';
import {
  defaultCheckScript,
  defaultVrrpTrackFile,
  type KeepalivedConfigInput,
  renderKeepalivedConfig,
} from '../load-balancer/keepalived-config.ts';
import { rootOwner } from '../os-actions/ensure-file.ts';
import { ensureUnit, runUnitCommand } from '../os-actions/ensure-unit.ts';
import { ensureValidatedConfig } from '../os-actions/install-validated-config.ts';
import { missingPackages, packageInstallChange } from '../os-actions/installed-packages.ts';
import { planKeepalivedReadableDirectory } from '../os-actions/keepalived-readable-directory.ts';
import { type PlannedChange, plannedStep, type StepDefinition } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

export type { LoadBalancerParams };

export const keepalivedConfPath = '/etc/keepalived/keepalived.conf';
export const haproxyCfgPath = '/etc/haproxy/haproxy.cfg';
/** keepalived.conf holds auth_pass. */
const keepalivedConfMode = 0o600;
const haproxyCfgMode = 0o644;

/** Where the agent and keepalived meet; the health endpoint URL is the script's default. */
export interface LoadBalancerStepOptions {
  checkScript: string;
  trackFile: string;
}

export function parseLoadBalancerParams(raw: unknown): LoadBalancerParams {
  return parseStepParams('load-balancer', LoadBalancerParamsSchema, raw);
}

/** The URL the check script probes when the agent does not answer: the tier that owns the VIP. */
export function fallbackProbeUrl(params: Pick<LoadBalancerParams, 'mode' | 'lbPort'>): string {
  return `https://127.0.0.1:${params.mode === 'haproxy-keepalived' ? params.lbPort : 6443}/readyz`;
}

export function keepalivedInputFor(
  params: LoadBalancerParams,
  options: LoadBalancerStepOptions,
): KeepalivedConfigInput {
  return {
    nodeName: params.nodeName,
    interface: params.interface,
    virtualRouterId: params.virtualRouterId,
    priority: params.priority,
    vip: params.vip,
    vipPrefixLength: params.vipPrefixLength,
    authPass: params.authPass,
    multicast: params.multicast,
    unicastSrcIp: params.unicastSrcIp,
    unicastPeers: params.unicastPeers,
    nodeAddresses: [...params.backends.map((b) => b.address), params.unicastSrcIp, ...params.unicastPeers].filter(
      (a) => a !== '',
    ),
    advertIntS: params.advertIntS,
    preempt: params.preempt,
    check: {
      command: [options.checkScript, fallbackProbeUrl(params)],
      intervalS: params.checkIntervalS,
      // The script may wait 1 s for the agent and 1 s for its own probe.
      timeoutS: Math.max(3, params.checkIntervalS),
      fall: params.checkFall,
      rise: params.checkRise,
      weight: params.checkWeight,
    },
    trackFile: options.trackFile,
  };
}

export function haproxyInputFor(params: LoadBalancerParams): HaproxyConfigInput {
  return {
    lbPort: params.lbPort,
    apiserverOnThisNode: params.backends.some((b) => b.name === params.nodeName),
    backends: params.backends.map((b) => ({ name: b.name, address: b.address })),
    checkIntervalMs: 2000,
    checkFall: 2,
    checkRise: 2,
  };
}

/** "Keepalived v2.2.7 (01/16,2022)" -> true when `keepalived -t` exists (2.0.4 and later). */
export function keepalivedHasConfigTest(versionOutput: string): boolean {
  const match = /Keepalived v(\d+)\.(\d+)\.(\d+)/.exec(versionOutput);
  if (!match) return false;
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return major > 2 || (major === 2 && (minor > 0 || patch >= 4));
}

export function createLoadBalancerStep(options: LoadBalancerStepOptions): StepDefinition<LoadBalancerParams> {
  return plannedStep<LoadBalancerParams>({
    kind: 'load-balancer',
    deterministic: false,
    parseParams(raw) {
      const params = parseLoadBalancerParams(raw);
      // Render once here so that bad values are refused before anything runs, naming the field.
      renderKeepalivedConfig(keepalivedInputFor(params, options));
      if (params.mode === 'haproxy-keepalived') renderHaproxyConfig(haproxyInputFor(params));
      return params;
    },
    async plan(ctx) {
      const { host, params } = ctx;
      const withHaproxy = params.mode === 'haproxy-keepalived';
      const packages = withHaproxy ? ['keepalived', 'haproxy'] : ['keepalived'];
      const changes: PlannedChange[] = [];

      const missing = await missingPackages(host, packages);
      if (missing.length > 0) {
        changes.push(
          packageInstallChange(host, missing, { timeoutMs: 600_000, description: `install ${missing.join(' ')}` }),
        );
      }

      const trackDir = options.trackFile.slice(0, options.trackFile.lastIndexOf('/')) || '/';
      changes.push(...(await planKeepalivedReadableDirectory(host, trackDir)));

      // HAProxy first: keepalived's check goes through it, so the VIP is not offered before it runs.
      if (withHaproxy) {
        changes.push(
          ...(await ensureValidatedConfig(
            host,
            {
              path: haproxyCfgPath,
              content: renderHaproxyConfig(haproxyInputFor(params)),
              mode: haproxyCfgMode,
              description: `write ${haproxyCfgPath} (validated with haproxy -c) and reload haproxy`,
              afterWrite: () => runUnitCommand(host, 'reload-or-restart', 'haproxy'),
            },
            async (candidate) => ({ command: 'haproxy', args: ['-c', '-f', candidate] }),
          )),
        );
      }

      changes.push(
        ...(await ensureValidatedConfig(
          host,
          {
            path: keepalivedConfPath,
            content: renderKeepalivedConfig(keepalivedInputFor(params, options)),
            mode: keepalivedConfMode,
            owner: rootOwner,
            secret: params.authPass,
            description: `write ${keepalivedConfPath} (validated with keepalived -t) and reload keepalived`,
            afterWrite: () => runUnitCommand(host, 'reload-or-restart', 'keepalived'),
          },
          async (candidate) => {
            const version = await host.exec('keepalived', ['--version'], { allowFailure: true });
            if (!keepalivedHasConfigTest(`${version.stdout}\n${version.stderr}`)) {
              ctx.log('keepalived is older than 2.0.4 and has no -t: the configuration is installed unvalidated');
              return undefined;
            }
            return { command: 'keepalived', args: ['-t', '-l', '-f', candidate] };
          },
        )),
      );

      for (const unit of withHaproxy ? ['haproxy', 'keepalived'] : ['keepalived']) {
        changes.push(...(await ensureUnit(host, unit, { enabled: true, active: true })));
      }
      return changes;
    },
  });
}

export const loadBalancerStep = createLoadBalancerStep({
  checkScript: defaultCheckScript,
  trackFile: defaultVrrpTrackFile,
});
