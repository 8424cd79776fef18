import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isKubehaError } from '../common/errors.ts';
import { createLogger } from '../common/logger.ts';
import { resolveSecret } from '../common/secret-argument.ts';
import { kubehaVersion } from '../common/version.ts';
import { type RunningAgent, startAgent } from './agent-service.ts';
import { defaultAgentConfigPath, defaultStateDir, parseAgentConfig } from './config.ts';
import { gatherFacts } from './facts/gather-facts.ts';
import { startHealthEndpoint } from './health/health-endpoint.ts';
import { ipAddressMonitor } from './health/ip-address-monitor.ts';
import { VipWatcher } from './health/vip-watcher.ts';
import { defaultVrrpTrackFile, vrrpTrackDirectory } from './load-balancer/keepalived-config.ts';
import { AgentMetrics } from './metrics/agent-metrics.ts';
import { planKeepalivedReadableDirectory } from './os-actions/keepalived-readable-directory.ts';

const usage = `Usage:
  kubeha-agent enroll --coordinator HOST:PORT --token-file FILE --ca-cert-hash sha256:HASH [--config FILE] [--state-dir DIR]
      the token: --token-file FILE, or KUBEHA_ENROLL_TOKEN, or --token TOKEN (visible to other users: warns)
  kubeha-agent run [--config FILE]
  kubeha-agent validate-config [--config FILE]
  kubeha-agent step KIND --params FILE [--dry-run] [--json] [--timeout SECONDS]
      runs one step on this machine (preflight, host-prep, container-runtime, kube-packages, ...); params: YAML or JSON
  kubeha-agent --version

Defaults: --config ${defaultAgentConfigPath}, --state-dir ${defaultStateDir}.`;

function loadConfig(path: string) {
  if (!existsSync(path)) throw new Error(`${path} does not exist; enroll this node first (kubeha-agent enroll ...)`);
  return parseAgentConfig(readFileSync(path, 'utf8'), path);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === 'version') {
    process.stdout.write(`kubeha-agent ${kubehaVersion}\n`);
    return 0;
  }
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return command ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', default: defaultAgentConfigPath },
      'state-dir': { type: 'string', default: defaultStateDir },
      coordinator: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'ca-cert-hash': { type: 'string' },
      params: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string' },
    },
    allowPositionals: command === 'step',
  });

  switch (command) {
    case 'enroll': {
      const token = resolveSecret('token', {
        flag: values.token,
        file: values['token-file'],
        env: process.env['KUBEHA_ENROLL_TOKEN'],
      });
      if (!values.coordinator || !token.value || !values['ca-cert-hash']) {
        process.stderr.write(
          `kubeha-agent enroll needs --coordinator, a token (--token-file, KUBEHA_ENROLL_TOKEN or --token) and --ca-cert-hash\n\n${usage}\n`,
        );
        return 2;
      }
      if (token.warning) process.stderr.write(`warning: ${token.warning}\n`);
      // Loaded only here: the X.509 library is needed once, at enrollment, not by the daemon at rest.
      const { enroll } = await import('./enrollment/enroll.ts');
      const result = await enroll({
        coordinator: values.coordinator,
        token: token.value,
        caCertHash: values['ca-cert-hash'],
        configPath: values.config,
        stateDir: values['state-dir'],
        agentVersion: kubehaVersion,
        facts: await gatherFacts(),
      });
      process.stdout.write(
        `Enrolled as ${result.agentId}. Wrote ${result.configPath} and the credentials in ${join(values['state-dir'])}.\n` +
          'Start the agent: systemctl enable --now kubeha-agent\n',
      );
      return 0;
    }
    case 'validate-config': {
      const config = loadConfig(values.config);
      for (const file of [config.tls.caFile, config.tls.certFile, config.tls.keyFile]) {
        if (!existsSync(file)) throw new Error(`${values.config}: ${file} does not exist`);
      }
      process.stdout.write(`${values.config} is valid (agent ${config.agentId}, coordinator ${config.coordinator})\n`);
      return 0;
    }
    case 'step': {
      const kind = positionals[0];
      if (!kind || positionals.length > 1 || !values.params) {
        process.stderr.write(`kubeha-agent step needs one KIND and --params FILE\n\n${usage}\n`);
        return 2;
      }
      const timeoutSeconds = values.timeout === undefined ? undefined : Number(values.timeout);
      if (timeoutSeconds !== undefined && !(timeoutSeconds > 0)) {
        process.stderr.write(`kubeha-agent step: --timeout must be a positive number of seconds\n`);
        return 2;
      }
      const [{ LocalHost }, { runLocalStep }, { stepRegistry }] = await Promise.all([
        import('./host/local-host.ts'),
        import('./step-execution/local-step-command.ts'),
        import('./steps/step-registry.ts'),
      ]);
      const cancel = new AbortController();
      process.once('SIGINT', () => cancel.abort());
      process.once('SIGTERM', () => cancel.abort());
      return runLocalStep({
        kind,
        paramsText: readFileSync(values.params, 'utf8'),
        paramsSource: values.params,
        dryRun: values['dry-run'],
        json: values.json,
        ...(timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 }),
        signal: cancel.signal,
        host: new LocalHost({ facts: () => gatherFacts() }),
        registry: stepRegistry,
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
      });
    }
    case 'run': {
      const config = loadConfig(values.config);
      const logger = createLogger({ name: 'kubeha-agent', level: config.logLevel });
      let agent: RunningAgent | undefined;
      const metrics = new AgentMetrics(kubehaVersion);
      // /run is emptied at boot; without the RPM's tmpfiles.d entry only this makes (and labels) it again.
      try {
        const { LocalHost } = await import('./host/local-host.ts');
        const host = new LocalHost({ facts: () => gatherFacts() });
        for (const change of await planKeepalivedReadableDirectory(host, vrrpTrackDirectory)) {
          await change.apply();
          logger.info({ change: change.description }, 'prepared the directory of the VRRP verdict');
        }
      } catch (error) {
        logger.error({ err: error, dir: vrrpTrackDirectory }, 'cannot prepare the directory of the VRRP verdict');
      }
      const health = await startHealthEndpoint({
        listen: config.health.listen,
        probeIntervalMs: config.health.probeIntervalMs,
        stateDir: config.stateDir,
        trackFile: defaultVrrpTrackFile,
        version: kubehaVersion,
        coordinatorConnected: () => agent?.session.connected ?? false,
        logger: logger.child({ component: 'health' }),
        metrics,
      });
      const vipWatcher = new VipWatcher({
        monitor: ipAddressMonitor(),
        vip: () => health.monitor.clusterPhase?.vip || undefined,
        localAddresses: () => Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address)),
        onChange: (change) => {
          logger.info(
            { vip: change.vip, held: change.held },
            change.held ? 'this node took the VIP' : 'this node gave up the VIP',
          );
          agent?.session.sendVipTransition(change);
        },
        logger: logger.child({ component: 'vip-watcher' }),
      });
      agent = startAgent(config, {
        logger,
        version: kubehaVersion,
        facts: () => gatherFacts(),
        health,
        metrics,
        vipWatcher,
      });
      vipWatcher.start();
      logger.info(
        { agentId: config.agentId, coordinator: config.coordinator, version: kubehaVersion },
        'agent started',
      );
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      logger.info('stopping: closing the session');
      vipWatcher.stop();
      await agent.stop();
      await health.stop();
      logger.flush();
      return 0;
    }
    default:
      process.stderr.write(`kubeha-agent: unknown command "${command}"\n\n${usage}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `kubeha-agent: ${isKubehaError(error) || error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
