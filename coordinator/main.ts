import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isKubehaError } from '../common/errors.ts';
import { createLogger } from '../common/logger.ts';
import { kubehaVersion } from '../common/version.ts';
import { loadCoordinatorConfig, parseCoordinatorConfig } from './config.ts';
import { startCoordinator } from './coordinator-service.ts';
import { backupCoordinator, restoreCoordinator } from './store/backup.ts';

const defaultConfigPath = '/etc/kubeha/coordinator.yaml';

const usage = `Usage: kubeha-coordinator [--config FILE] [--data-dir DIR] [--grpc-listen HOST:PORT] [--api-listen HOST:PORT]
                          [--san NAME]... [--version]
       kubeha-coordinator backup --to FILE [--config FILE] [--data-dir DIR]
       kubeha-coordinator restore --from FILE [--config FILE] [--data-dir DIR]

Runs the kubeha coordinator: the gRPC gateway for agents (mTLS) and the REST API.
backup writes a consistent copy of the data directory (database, CA, keys, admin token) to one new file, mode 0600,
also while the coordinator runs. restore makes an empty data directory from such a file; it refuses a directory that
has a database. Defaults: config /etc/kubeha/coordinator.yaml when present, data in /var/lib/kubeha-coordinator.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      'grpc-listen': { type: 'string' },
      'api-listen': { type: 'string' },
      san: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      to: { type: 'string' },
      from: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`kubeha-coordinator ${kubehaVersion}\n`);
    return 0;
  }
  const configPath = values.config ?? (existsSync(defaultConfigPath) ? defaultConfigPath : undefined);
  const fileConfig = loadCoordinatorConfig(configPath);
  const config = parseCoordinatorConfig(
    {
      ...fileConfig,
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
      grpc: {
        ...fileConfig.grpc,
        ...(values['grpc-listen'] ? { listen: values['grpc-listen'] } : {}),
        ...(values.san ? { serverSans: values.san } : {}),
      },
      api: { ...fileConfig.api, ...(values['api-listen'] ? { listen: values['api-listen'] } : {}) },
    },
    configPath ?? 'the command line',
  );
  const [command, ...rest] = positionals;
  if (command === 'backup' && rest.length === 0 && values.to) {
    const { bytes, files } = await backupCoordinator(config.dataDir, values.to);
    process.stdout.write(`backed up ${config.dataDir} to ${values.to} (${bytes} bytes; with ${files.join(', ')})\n`);
    return 0;
  }
  if (command === 'restore' && rest.length === 0 && values.from) {
    const { files } = restoreCoordinator(values.from, config.dataDir);
    process.stdout.write(`restored ${config.dataDir} from ${values.from} (the database and ${files.join(', ')})\n`);
    return 0;
  }
  if (command !== undefined) {
    process.stderr.write(`kubeha-coordinator: unknown command "${positionals.join(' ')}"\n\n${usage}\n`);
    return 2;
  }
  const logger = createLogger({ name: 'kubeha-coordinator', level: config.logLevel });
  const coordinator = await startCoordinator(config, { logger });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await coordinator.stop();
  logger.flush();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `kubeha-coordinator: ${isKubehaError(error) ? error.message : String((error as Error)?.stack ?? error)}\n`,
    );
    process.exitCode = 2;
  },
);
