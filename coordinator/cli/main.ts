import { parseArgs } from 'node:util';
import { fetchPinnedCa } from '../../agent/enrollment/fetch-pinned-ca.ts';
import { kubehaVersion } from '../../common/version.ts';
import { ApiClient, ApiError } from './api-client.ts';
import { type CliConnection, resolveConnection } from './cli-config.ts';
import { agentsCommand } from './commands/agents-command.ts';
import { applyCommand } from './commands/apply-command.ts';
import { describeRunCommand } from './commands/describe-run-command.ts';
import { drillFailoverCommand } from './commands/drill-failover-command.ts';
import { getClusterCommand, getClustersCommand, getNodesCommand, getRunsCommand } from './commands/get-command.ts';
import { kubeconfigCommand } from './commands/kubeconfig-command.ts';
import { startRunCommand } from './commands/start-run-command.ts';
import { tokenCreateCommand } from './commands/token-create-command.ts';
import { watchCommand } from './commands/watch-command.ts';
import { type FetchLike, fetchTrustingCa } from './https-with-ca.ts';

const usage = `Usage: kubeha [--server URL] [--token-file FILE] COMMAND

Commands:
  apply -f FILE [--no-watch] [--wait-for-agents] [--dry-run]
                              create or update the cluster from its spec (YAML; - for stdin), start a deploy, watch it;
                              refused while a node has no enrolled agent unless --wait-for-agents;
                              --dry-run: the same as plan
  plan -f FILE [--wait-for-agents]
                              validate the spec, run preflight, the cross-node checks and every step's dry run on the
                              nodes, print per node what would change and how the spec differs from the applied one;
                              nothing is stored or changed
  get clusters                list clusters
  get cluster NAME [-o yaml]  the desired and the applied spec and where they differ (-o json also)
  get nodes [CLUSTER]         list the clusters' nodes and the agent serving each
  get agents                  list enrolled agents (also: agents)
  get runs [CLUSTER]          list runs
  describe run ID             every step of a run: node, state, attempt, timings, error
  watch RUN                   follow a run: one line per node and a progress bar
  drill failover CLUSTER      start a failover drill, watch it, print the measured gap and VIP moves
  verify CLUSTER              start a verify run and watch it (--wait-for-agents as for apply)
  reset CLUSTER               start a reset run (kubeadm reset on every node) and watch it (--wait-for-agents too)
  kubeconfig CLUSTER          print the cluster's admin kubeconfig (from its init/verify outputs)
  token create [--node NODE] [--ttl SECONDS] [--usage-limit N] [--description TEXT]
                              create a bootstrap token and print the enroll command; --node scopes it to
                              one node: the agent enrolled with it serves that node (and only an agent so bound does)
  agents approve AGENT --node NODE
                              let an enrolled agent serve the node of that name (an address alone only proposes it)
  version                     print the version

The coordinator and its token come from --server/--token-file, KUBEHA_SERVER/KUBEHA_TOKEN(_FILE), or ~/.kube/kubeha.yaml;
an https:// server is verified with its CA: --ca-cert-hash sha256:H (pinned, as enrollment does), --ca-cert FILE,
KUBEHA_CA_CERT_HASH / KUBEHA_CA_CERT, or caCertHash / caCert in the file; http:// only to loopback
(--token TOKEN works too, with a warning: other users of the machine see a command line).
Options: -o json for machine-readable output.
Exit codes: 0 success, 1 the run (or the command) failed, 2 bad usage or an invalid spec (problems printed).`;

const out = (text: string) => process.stdout.write(`${text}\n`);

/** For an https:// coordinator: trust exactly its CA, from the configured file or pinned by hash. */
async function serverTrust(connection: CliConnection): Promise<FetchLike | undefined> {
  const url = new URL(connection.server);
  if (url.protocol !== 'https:') return undefined;
  if (connection.caCertPem) return fetchTrustingCa(connection.caCertPem);
  if (connection.caCertHash) {
    const port = Number(url.port || 443);
    const ca = await fetchPinnedCa(url.hostname.replace(/^\[|\]$/g, ''), port, connection.caCertHash, 10_000, [
      'http/1.1',
    ]);
    return fetchTrustingCa(ca);
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      'ca-cert': { type: 'string' },
      'ca-cert-hash': { type: 'string' },
      ttl: { type: 'string' },
      'usage-limit': { type: 'string' },
      description: { type: 'string' },
      node: { type: 'string' },
      file: { type: 'string', short: 'f' },
      'no-watch': { type: 'boolean' },
      'wait-for-agents': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
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
    {
      server: values.server,
      token: values.token,
      tokenFile: values['token-file'],
      caCert: values['ca-cert'],
      caCertHash: values['ca-cert-hash'],
    },
    process.env,
    process.env['HOME'],
  );
  for (const warning of connection.warnings) process.stderr.write(`kubeha: warning: ${warning}\n`);
  const api = new ApiClient(connection.server, connection.token, await serverTrust(connection));
  const json = values.output === 'json';
  const [verb, noun, arg] = positionals;
  const watchOutput = { write: (text: string) => process.stdout.write(text), isTTY: process.stdout.isTTY === true };
  const watch = { watch: values['no-watch'] !== true };
  const usageError = (message: string) => {
    process.stderr.write(`kubeha: ${message}\n\n${usage}\n`);
    return 2;
  };
  if (verb === 'apply' || verb === 'plan') {
    if (!values.file || positionals.length > 1) return usageError(`${verb} needs -f FILE`);
    return applyCommand(api, values.file, watchOutput, (t) => process.stderr.write(`${t}\n`), {
      ...watch,
      waitForAgents: values['wait-for-agents'] === true,
      dryRun: verb === 'plan' || values['dry-run'] === true,
      json,
    });
  }
  if (verb === 'get' && noun === 'cluster' && arg && positionals.length === 3) {
    return getClusterCommand(api, out, arg, json ? 'json' : 'yaml');
  }
  if (verb === 'get' && (noun === 'clusters' || noun === 'cluster') && positionals.length === 2) {
    return getClustersCommand(api, out, json);
  }
  if (verb === 'get' && (noun === 'nodes' || noun === 'node') && positionals.length <= 3) {
    return getNodesCommand(api, out, arg, json);
  }
  if (verb === 'get' && (noun === 'runs' || noun === 'run') && positionals.length <= 3) {
    return getRunsCommand(api, out, arg, Date.now(), json);
  }
  if (verb === 'describe' && noun === 'run' && arg && positionals.length === 3) {
    return describeRunCommand(api, arg, out, json);
  }
  if (verb === 'watch' && noun && positionals.length === 2) return watchCommand(api, noun, watchOutput);
  if (verb === 'drill' && noun === 'failover' && arg && positionals.length === 3) {
    return drillFailoverCommand(api, arg, watchOutput, watch);
  }
  if ((verb === 'verify' || verb === 'reset') && noun && positionals.length === 2) {
    return startRunCommand(api, noun, verb, watchOutput, {
      ...watch,
      waitForAgents: values['wait-for-agents'] === true,
    });
  }
  if (verb === 'kubeconfig' && noun && positionals.length === 2) return kubeconfigCommand(api, noun, out);
  if (verb === 'agents' && noun === 'approve' && arg && positionals.length === 3) {
    if (!values.node) return usageError('agents approve needs --node NODE');
    await api.request('POST', `/v1/agents/${encodeURIComponent(arg)}/approve`, { node: values.node });
    out(`agent ${arg} approved for node ${values.node}`);
    return 0;
  }
  switch (words) {
    case 'agents':
    case 'get agents':
      return agentsCommand(api, out, Date.now(), json);
    case 'token create':
      return tokenCreateCommand(api, out, {
        ...(values.ttl ? { ttlSeconds: Number(values.ttl) } : {}),
        ...(values['usage-limit'] ? { usageLimit: Number(values['usage-limit']) } : {}),
        ...(values.description ? { description: values.description } : {}),
        ...(values.node ? { node: values.node } : {}),
        server: connection.server,
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
