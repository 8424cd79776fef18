import { parseArgs } from 'node:util';
import { kubehaVersion } from '../../common/version.ts';
import { ApiClient, ApiError } from './api-client.ts';
import { resolveConnection } from './cli-config.ts';
import { agentsCommand } from './commands/agents-command.ts';
import { tokenCreateCommand } from './commands/token-create-command.ts';

const usage = `Usage: kubeha [--server URL] [--token TOKEN] COMMAND

Commands:
  agents                      list enrolled agents (also: get agents)
  token create [--ttl SECONDS] [--usage-limit N] [--description TEXT]
                              create a bootstrap token and print the enroll command
  version                     print the version

The coordinator and its token come from --server/--token, KUBEHA_SERVER/KUBEHA_TOKEN, or ~/.kube/kubeha.yaml.
Exit codes: 0 success, 1 failure, 2 bad usage.`;

const out = (text: string) => process.stdout.write(`${text}\n`);

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      ttl: { type: 'string' },
      'usage-limit': { type: 'string' },
      description: { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  const words = positionals.join(' ');
  if (values.help || words === '' || words === 'help') {
    out(usage);
    return values.help || words === 'help' ? 0 : 2;
  }
  if (words === 'version') {
    out(`kubeha ${kubehaVersion}`);
    return 0;
  }
  const connection = resolveConnection(
    { server: values.server, token: values.token },
    process.env,
    process.env['HOME'],
  );
  const api = new ApiClient(connection.server, connection.token);
  const json = values.output === 'json';
  switch (words) {
    case 'agents':
    case 'get agents':
      return agentsCommand(api, out, Date.now(), json);
    case 'token create':
      return tokenCreateCommand(api, out, {
        ...(values.ttl ? { ttlSeconds: Number(values.ttl) } : {}),
        ...(values['usage-limit'] ? { usageLimit: Number(values['usage-limit']) } : {}),
        ...(values.description ? { description: values.description } : {}),
        json,
      });
    default:
      process.stderr.write(`kubeha: unknown command "${words}"\n\n${usage}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ApiError) {
      process.stderr.write(`kubeha: ${error.message} (${error.code}, HTTP ${error.status})\n`);
      process.exitCode =
        error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 404 ? 2 : 1;
      return;
    }
    process.stderr.write(`kubeha: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof TypeError && /parseArgs|option/i.test(error.message) ? 2 : 1;
  },
);
