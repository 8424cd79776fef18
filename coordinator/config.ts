import { readFileSync } from 'node:fs';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { ErrorCode, KubehaError } from '../common/errors.ts';
import { schemaProblems } from '../common/schema-check.ts';

const listenPattern = '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$';

export const CoordinatorConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, default: '/var/lib/kubeha-coordinator' }),
    logLevel: Type.Union(
      [Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug')],
      { default: 'info' },
    ),
    grpc: Type.Object(
      {
        listen: Type.String({ pattern: listenPattern, default: '0.0.0.0:7443' }),
        /** Names and addresses the gateway certificate is valid for: the addresses agents use to reach us. */
        serverSans: Type.Array(Type.String({ minLength: 1 }), { default: ['localhost', '127.0.0.1'] }),
        /** HOST:PORT printed in enroll commands; the first SAN and the listen port when empty. */
        advertiseAddress: Type.String({ default: '' }),
        heartbeatTimeoutSeconds: Type.Integer({ minimum: 2, maximum: 600, default: 15 }),
        /** Lifetime of the agents' client certificates; an agent renews its own once a third of it is left. */
        agentCertificateDays: Type.Integer({ minimum: 1, maximum: 825, default: 365 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** When the certificates the agents report (kubeadm's, the kubelet's) are warned about, in days before expiry. */
    certificates: Type.Object(
      {
        warningDays: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
        criticalDays: Type.Integer({ minimum: 1, maximum: 3650, default: 7 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** How long a run's step waits for its node's agent to connect before the run fails with that reason. */
    agentWaitSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 600 }),
    api: Type.Object(
      {
        listen: Type.String({ pattern: listenPattern, default: '127.0.0.1:7444' }),
        /** Names and addresses the API's certificate is valid for; required when `listen` is not loopback. */
        serverSans: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        /** auto: HTTPS on any non-loopback address, plain HTTP on loopback; always: HTTPS on loopback too. */
        tls: Type.Union([Type.Literal('auto'), Type.Literal('always')], { default: 'auto' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type CoordinatorConfig = Static<typeof CoordinatorConfigSchema>;

export function splitHostPort(value: string): { host: string; port: number } {
  const index = value.lastIndexOf(':');
  const host = value.slice(0, index).replace(/^\[|\]$/g, '');
  return { host, port: Number(value.slice(index + 1)) };
}

/** Validates, defaults and freezes a coordinator config; `source` names it in error messages. */
export function parseCoordinatorConfig(raw: unknown, source: string): Readonly<CoordinatorConfig> {
  const withDefaults = Value.Default(CoordinatorConfigSchema, structuredClone(raw ?? {}));
  const problems = schemaProblems(CoordinatorConfigSchema, withDefaults, '');
  if (problems.length > 0) {
    throw new KubehaError(ErrorCode.configInvalid, `${source} is invalid:\n  ${problems.join('\n  ')}`, {
      details: problems,
    });
  }
  const config = withDefaults as CoordinatorConfig;
  for (const [path, value] of [
    ['grpc.listen', config.grpc.listen],
    ['api.listen', config.api.listen],
  ] as const) {
    const { port } = splitHostPort(value);
    if (port > 65535)
      throw new KubehaError(ErrorCode.configInvalid, `${source} is invalid:\n  ${path}: port ${port} > 65535`);
  }
  if (config.certificates.criticalDays >= config.certificates.warningDays) {
    throw new KubehaError(
      ErrorCode.configInvalid,
      `${source} is invalid:\n  certificates.criticalDays (${config.certificates.criticalDays}) must be less than ` +
        `certificates.warningDays (${config.certificates.warningDays})`,
    );
  }
  if (apiServesTls(config) && config.api.serverSans.length === 0) {
    throw new KubehaError(
      ErrorCode.configInvalid,
      `${source} is invalid:\n  api.serverSans: required when the API serves HTTPS (api.listen ${config.api.listen} is ` +
        'not a loopback address): the names and addresses workstations use to reach it',
    );
  }
  return Object.freeze(config);
}

/** 127.0.0.0/8, ::1 and localhost: the only addresses where the API may speak plain HTTP. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether the API serves HTTPS: on every non-loopback address, or everywhere when asked. */
export function apiServesTls(config: Pick<CoordinatorConfig, 'api'>): boolean {
  return config.api.tls === 'always' || !isLoopbackHost(splitHostPort(config.api.listen).host);
}

export function loadCoordinatorConfig(path: string | undefined): Readonly<CoordinatorConfig> {
  if (!path) return parseCoordinatorConfig({}, 'the default configuration');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new KubehaError(ErrorCode.configInvalid, `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new KubehaError(ErrorCode.configInvalid, `${path} is not valid YAML: ${(cause as Error).message}`, { cause });
  }
  return parseCoordinatorConfig(raw, path);
}
