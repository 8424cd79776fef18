import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ErrorCode, KubehaError } from '../common/errors.ts';
import { schemaProblems } from '../common/schema-check.ts';

export const defaultAgentConfigPath = '/etc/kubeha/agent.yaml';
export const defaultStateDir = '/var/lib/kubeha';

const hostPort = '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$';

export const AgentConfigSchema = Type.Object(
  {
    agentId: Type.String({ pattern: '^agent-[0-9a-f-]{36}$' }),
    coordinator: Type.String({ pattern: hostPort, description: 'HOST:PORT of the coordinator gRPC gateway' }),
    stateDir: Type.String({ minLength: 1, default: defaultStateDir }),
    tls: Type.Object(
      {
        caFile: Type.String({ minLength: 1 }),
        certFile: Type.String({ minLength: 1 }),
        keyFile: Type.String({ minLength: 1 }),
      },
      { additionalProperties: false },
    ),
    health: Type.Object(
      {
        listen: Type.String({ pattern: hostPort, default: '127.0.0.1:7445' }),
        probeIntervalMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 250 }),
      },
      { additionalProperties: false, default: {} },
    ),
    heartbeatIntervalSeconds: Type.Number({ minimum: 0.05, maximum: 300, default: 5 }),
    reconnect: Type.Object(
      {
        minSeconds: Type.Number({ minimum: 0.01, maximum: 60, default: 1 }),
        maxSeconds: Type.Number({ minimum: 0.01, maximum: 3600, default: 30 }),
      },
      { additionalProperties: false, default: {} },
    ),
    logLevel: Type.Union(
      [Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug')],
      { default: 'info' },
    ),
  },
  { additionalProperties: false },
);

export type AgentConfig = Static<typeof AgentConfigSchema>;

export function parseAgentConfig(text: string, source: string): Readonly<AgentConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new KubehaError(ErrorCode.configInvalid, `${source} is not valid YAML: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new KubehaError(ErrorCode.configInvalid, `${source}: expected a mapping of settings`);
  }
  const withDefaults = Value.Default(AgentConfigSchema, structuredClone(raw));
  const problems = schemaProblems(AgentConfigSchema, withDefaults, '');
  if (problems.length > 0) {
    throw new KubehaError(ErrorCode.configInvalid, `${source} is invalid:\n  ${problems.join('\n  ')}`, {
      details: problems,
    });
  }
  const config = withDefaults as AgentConfig;
  if (config.reconnect.maxSeconds < config.reconnect.minSeconds) {
    throw new KubehaError(
      ErrorCode.configInvalid,
      `${source} is invalid:\n  reconnect.maxSeconds: must be >= reconnect.minSeconds`,
    );
  }
  return Object.freeze(config);
}

export function renderAgentConfig(config: Pick<AgentConfig, 'agentId' | 'coordinator' | 'stateDir' | 'tls'>): string {
  return `# Written by "kubeha-agent enroll". Check it with "kubeha-agent validate-config".\n${stringifyYaml(config)}`;
}
