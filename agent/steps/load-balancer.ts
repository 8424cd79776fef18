import Type, { type Static } from 'typebox';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import type { Host } from '../host/host.ts';
import { defaultLbPort, type HaproxyConfigInput, renderHaproxyConfig } from '../load-balancer/haproxy-config.ts';
import {
  defaultCheckScript,
  defaultVrrpTrackFile,
  type KeepalivedConfigInput,
  renderKeepalivedConfig,
} from '../load-balancer/keepalived-config.ts';
import { type PlannedChange, plannedStep, type StepDefinition } from '../step-execution/step.ts';
import { parseStepParams } from '../step-execution/step-params.ts';

const LoadBalancerParamsSchema = Type.Object(
  {
    mode: Type.Union([Type.Literal('haproxy-keepalived'), Type.Literal('keepalived')]),
    nodeName: Type.String({ minLength: 1 }),
    vip: Type.String({ minLength: 1 }),
    vipPrefixLength: Type.Integer(),
    interface: Type.String(),
    virtualRouterId: Type.Integer(),
    priority: Type.Integer(),
    /** Secret. */
    authPass: Type.String(),
    multicast: Type.Boolean({ default: false }),
    unicastSrcIp: Type.String({ default: '' }),
    unicastPeers: Type.Array(Type.String(), { default: [] }),
    lbPort: Type.Integer({ default: defaultLbPort }),
    backends: Type.Array(
      Type.Object({ name: Type.String(), address: Type.String(), role: Type.Optional(Type.String()) }),
      { default: [] },
    ),
    checkIntervalS: Type.Integer({ default: 1 }),
    checkFall: Type.Integer({ default: 2 }),
    checkRise: Type.Integer({ default: 2 }),
    checkWeight: Type.Integer({ default: 0 }),
    advertIntS: Type.Integer({ default: 1 }),
    /** false (the default) renders nopreempt: a node coming back does not take the VIP back. */
    preempt: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type LoadBalancerParams = Static<typeof LoadBalancerParamsSchema>;

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

/** proto3 sends 0 for a field nobody set: for these, 0 means "the default", never a value. */
const zeroMeansDefault = ['lbPort', 'checkIntervalS', 'checkFall', 'checkRise', 'advertIntS'] as const;

export function parseLoadBalancerParams(raw: unknown): LoadBalancerParams {
  const cleaned =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw)
      ? Object.fromEntries(
          Object.entries(raw).filter(
            ([key, value]) => !((zeroMeansDefault as readonly string[]).includes(key) && value === 0),
          ),
        )
      : raw;
  return parseStepParams('load-balancer', LoadBalancerParamsSchema, cleaned);
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

async function installedPackages(host: Host, names: string[]): Promise<Set<string>> {
  const installed = new Set<string>();
  for (const name of names) {
    const { exitCode } = await host.exec('rpm', ['-q', name], { allowFailure: true });
    if (exitCode === 0) installed.add(name);
  }
  return installed;
}

async function unitState(host: Host, unit: string): Promise<{ enabled: boolean; active: boolean }> {
  const enabled = await host.exec('systemctl', ['is-enabled', '--quiet', unit], { allowFailure: true });
  const active = await host.exec('systemctl', ['is-active', '--quiet', unit], { allowFailure: true });
  return { enabled: enabled.exitCode === 0, active: active.exitCode === 0 };
}

/**
 * Writes `content` next to `path`, has the validator check it, and only then installs it (keeping the old file as
 * .kubeha.bak). A refused file is removed and the old one stays; the step fails with the validator's words.
 */
async function installValidated(
  host: Host,
  file: { path: string; content: string; mode: number; secret?: string },
  validate: (candidate: string) => Promise<{ command: string; args: string[] } | undefined>,
): Promise<void> {
  const candidate = `${file.path}.kubeha-new`;
  await host.writeFileAtomic(candidate, file.content, file.mode);
  try {
    const validator = await validate(candidate);
    if (validator) {
      // Not streamed to the step log: the validator may echo configuration lines; its words go in the error, scrubbed.
      const result = await host.exec(validator.command, validator.args, { allowFailure: true, onLine: () => {} });
      if (result.exitCode !== 0) {
        const scrub = (text: string) => (file.secret ? text.split(file.secret).join('<redacted>') : text);
        const output = scrub(`${result.stderr}\n${result.stdout}`.trim())
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean)
          .slice(-10);
        throw new KubehaError(
          ErrorCode.stepFailed,
          `${validator.command} refused the generated ${file.path} (exit ${result.exitCode}); the old file stays: ${output.join(' | ')}`,
          { details: { command: scrub(result.commandLine), exitCode: result.exitCode, output } },
        );
      }
    }
  } finally {
    await host.remove(candidate);
  }
  await host.writeFileAtomic(file.path, file.content, file.mode);
}

/** Same bytes, wrong permissions: fix the mode only (nothing to validate or reload). */
function modeFix(host: Host, path: string, content: string, mode: number): PlannedChange {
  return {
    description: `set the mode of ${path} to ${mode.toString(8).padStart(4, '0')}`,
    apply: async () => {
      await host.writeFileAtomic(path, content, mode);
    },
  };
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

      const installed = await installedPackages(host, packages);
      const missing = packages.filter((p) => !installed.has(p));
      if (missing.length > 0) {
        changes.push({
          description: `install ${missing.join(' ')}`,
          apply: async () => {
            await host.exec('dnf', ['install', '-y', ...missing], { timeoutMs: 600_000 });
          },
        });
      }

      const trackDir = options.trackFile.slice(0, options.trackFile.lastIndexOf('/')) || '/';
      if (!(await host.exists(trackDir))) {
        changes.push({
          description: `create ${trackDir} (the agent's verdict for keepalived)`,
          apply: () => host.mkdir(trackDir, 0o700),
        });
      }

      // HAProxy first: keepalived's check goes through it, so the VIP is not offered before it runs.
      if (withHaproxy) {
        const haproxyCfg = renderHaproxyConfig(haproxyInputFor(params));
        if ((await host.readFile(haproxyCfgPath)) === haproxyCfg) {
          const mode = await host.fileMode(haproxyCfgPath);
          if (mode !== haproxyCfgMode) changes.push(modeFix(host, haproxyCfgPath, haproxyCfg, haproxyCfgMode));
        } else {
          changes.push({
            description: `write ${haproxyCfgPath} (validated with haproxy -c) and reload haproxy`,
            apply: async () => {
              await installValidated(
                host,
                { path: haproxyCfgPath, content: haproxyCfg, mode: haproxyCfgMode },
                async (candidate) => ({ command: 'haproxy', args: ['-c', '-f', candidate] }),
              );
              await host.exec('systemctl', ['reload-or-restart', 'haproxy']);
            },
          });
        }
      }

      const keepalivedConf = renderKeepalivedConfig(keepalivedInputFor(params, options));
      if ((await host.readFile(keepalivedConfPath)) === keepalivedConf) {
        const mode = await host.fileMode(keepalivedConfPath);
        if (mode !== keepalivedConfMode)
          changes.push(modeFix(host, keepalivedConfPath, keepalivedConf, keepalivedConfMode));
      } else {
        changes.push({
          description: `write ${keepalivedConfPath} (validated with keepalived -t) and reload keepalived`,
          apply: async () => {
            await installValidated(
              host,
              { path: keepalivedConfPath, content: keepalivedConf, mode: keepalivedConfMode, secret: params.authPass },
              async (candidate) => {
                const version = await host.exec('keepalived', ['--version'], { allowFailure: true });
                if (!keepalivedHasConfigTest(`${version.stdout}\n${version.stderr}`)) {
                  ctx.log('keepalived is older than 2.0.4 and has no -t: the configuration is installed unvalidated');
                  return undefined;
                }
                return { command: 'keepalived', args: ['-t', '-l', '-f', candidate] };
              },
            );
            await host.exec('systemctl', ['reload-or-restart', 'keepalived']);
          },
        });
      }

      for (const unit of withHaproxy ? ['haproxy', 'keepalived'] : ['keepalived']) {
        const state = await unitState(host, unit);
        if (!state.enabled || !state.active) {
          changes.push({
            description: `enable and start ${unit}`,
            apply: async () => {
              await host.exec('systemctl', ['enable', '--now', unit]);
            },
          });
        }
      }
      return changes;
    },
  });
}

export const loadBalancerStep = createLoadBalancerStep({
  checkScript: defaultCheckScript,
  trackFile: defaultVrrpTrackFile,
});
