import { parseArgs } from 'node:util';
import { fetchPinnedCa } from '../../agent/enrollment/fetch-pinned-ca.ts';
import { kubehaVersion } from '../../common/version.ts';
import { ApiClient, ApiError } from './api-client.ts';
import { type CliConnection, resolveConnection } from './cli-config.ts';
import { CliUsageError } from './cli-usage-error.ts';
import { agentsCommand, revokeAgentCommand } from './commands/agents-command.ts';
import { applyCommand } from './commands/apply-command.ts';
import { cancelRunCommand } from './commands/cancel-run-command.ts';
import { getCertificatesCommand } from './commands/certificates-command.ts';
import { deleteClusterCommand } from './commands/delete-cluster-command.ts';
import { describeRunCommand } from './commands/describe-run-command.ts';
import { drillFailoverCommand } from './commands/drill-failover-command.ts';
import { etcdSnapshotGetCommand, etcdSnapshotsCommand } from './commands/etcd-snapshots-command.ts';
import { getClusterCommand, getClustersCommand, getNodesCommand, getRunsCommand } from './commands/get-command.ts';
import { kubeconfigCommand } from './commands/kubeconfig-command.ts';
import { nodeRemoveCommand } from './commands/node-remove-command.ts';
import { startRun } from './commands/start-run-command.ts';
import { tokenCreateCommand } from './commands/token-create-command.ts';
import { tokenDeleteCommand, tokenListCommand } from './commands/tokens-command.ts';
import { verifyCommand } from './commands/verify-command.ts';
import { watchCommand } from './commands/watch-command.ts';
import { processTerminal } from './confirm.ts';
import { durationFlag, inFlagTerms, integerFlag } from './flag-values.ts';
import { type FetchLike, fetchTrustingCa } from './https-with-ca.ts';
import { parseOutputFormat } from './output-format.ts';
import { RunNotFound, resolveRunId } from './run-id.ts';

const usage = `Usage: kubeha [--server URL] [--token-file FILE] COMMAND [-o json|yaml|wide]

Commands:
  apply -f FILE [--no-watch] [--wait-for-agents] [--dry-run] [--dead-node NAME]...
                              create or update the cluster from its spec (YAML; - for stdin), start a deploy, watch it;
                              refused while a node has no enrolled agent unless --wait-for-agents;
                              --dry-run: the same as plan. Nodes of the applied spec that the file drops are removed
                              before any node joins (docs/nodes.md); --dead-node NAME: its machine is gone, nothing
                              runs on it; still in the file, it joins again as the new machine at its address
  plan -f FILE [--wait-for-agents]
                              validate the spec, run preflight, the cross-node checks and every step's dry run on the
                              nodes, print per node what would change and how the spec differs from the applied one;
                              nothing is stored or changed
  node remove CLUSTER NAME [--dead] [--yes] [--no-watch]
                              remove a node: the applied spec without it is deployed, which drains the node, removes
                              its etcd member (control planes), deletes its Node and resets it; --dead: the machine is
                              gone, nothing is run on it (docs/nodes.md)
  get clusters                list clusters
  get cluster NAME            the desired and the applied spec and where they differ (YAML; -o json also)
  get nodes [CLUSTER]         each node's role, agent state, last heartbeat, health, VIP and last step
  get agents                  list enrolled agents (also: agents)
  get runs [CLUSTER]          list runs
  get certs CLUSTER           every node's certificates (kubeadm's PKI, kubeconfigs, the kubelet's), the soonest to
                              expire first
  describe run RUN            every step of a run: node, state, attempt, timings; every attempt's whole error
  watch RUN                   follow a run: one line per node, each failure's reason and retry, a progress bar
  run cancel RUN              cancel a run: no new step starts, running steps are told to stop
  verify CLUSTER              start a verify run, watch it, print the cluster's health report; a node whose agent
                              is offline or missing fails it (the run's agents-connected step names each one)
  drill failover CLUSTER [--yes]
                              start a failover drill, watch it, print the measured gap and VIP moves
  certs renew CLUSTER         start a certificate renewal run and watch it: kubeadm certs renew all and a restart of
                              the static pods, one control plane at a time (not the CAs); the coordinator's admin
                              kubeconfig is refreshed
  reset CLUSTER [--yes]       start a reset run (kubeadm reset on every node) and watch it (--wait-for-agents too)
  delete cluster NAME [--yes] forget a cluster and its runs (its nodes are left as they are)
  etcd snapshot CLUSTER       take an etcd snapshot now (a run on a healthy control plane) and watch it; the
                              coordinator keeps it (spec.etcd.snapshots takes them on a schedule)
  etcd restore CLUSTER --snapshot ID [--force] [--yes] [--no-watch]
                              restore etcd from a kept snapshot after quorum is lost (docs/etcd.md): the API servers
                              and etcd stop, one member is restored, the other control planes join it; refused while
                              etcd has quorum unless --force (every change since the snapshot is rolled back)
  etcd snapshots CLUSTER      the etcd snapshots the coordinator keeps: id, time, node, revision, keys, size, sha256
  etcd snapshot get CLUSTER ID -o FILE
                              download a snapshot to FILE, its size and sha256 checked (-o names the file here)
  kubeconfig CLUSTER          print the cluster's admin kubeconfig (from kubeadm init, renewed by certs renew)
  token create [--node NODE] [--ttl DURATION] [--usage-limit N] [--description TEXT]
                              create a bootstrap token and print the enroll command; --ttl in seconds or 90m, 2h, 7d
                              (default 24h); --node scopes it to one node: the agent enrolled with it serves that node
  token list                  the bootstrap tokens (never their secrets)
  token delete ID             delete a bootstrap token
  agents approve AGENT --node NODE
                              let an enrolled agent serve the node of that name (an address alone only proposes it)
  agents revoke AGENT         revoke an agent: its certificate never opens a session again
  version                     print the version

RUN is a run ID or a unique prefix of one (run-3f2a, 3f2a). reset, drill failover, delete cluster, node remove and an
apply that removes nodes ask on a terminal before they start unless --yes. Ctrl-C while watching stops the watching only: the run goes on.
The coordinator and its token come from --server/--token-file, KUBEHA_SERVER/KUBEHA_TOKEN(_FILE), or ~/.kube/kubeha.yaml;
an https:// server is verified with its CA: --ca-cert-hash sha256:H (pinned, as enrollment does), --ca-cert FILE,
KUBEHA_CA_CERT_HASH / KUBEHA_CA_CERT, or caCertHash / caCert in the file; http:// only to loopback
(--token TOKEN works too, with a warning: other users of the machine see a command line).
Output: -o json or -o yaml print the API's data (for apply, verify, drill, watch: the finished run), -o wide more columns.
Exit codes: 0 success, 1 the run (or the command) failed or a named thing does not exist, 2 bad usage or an invalid
spec (problems printed), 130 stopped watching with Ctrl-C.`;

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
      dead: { type: 'boolean' },
      snapshot: { type: 'string' },
      force: { type: 'boolean' },
      'dead-node': { type: 'string', multiple: true },
      yes: { type: 'boolean', short: 'y' },
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
  const snapshotGet = positionals[0] === 'etcd' && positionals[1] === 'snapshot' && positionals[2] === 'get';
  // In `etcd snapshot get`, -o names the file to write, as curl's does.
  const format = parseOutputFormat(snapshotGet ? undefined : values.output);
  // Flag values are checked before anything reaches the coordinator.
  const ttlSeconds = durationFlag('--ttl', values.ttl, { minSeconds: 60, maxSeconds: 30 * 24 * 3600 });
  const usageLimit = integerFlag('--usage-limit', values['usage-limit'], { min: 1, max: 10_000 });
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
  const [verb, noun, arg] = positionals;
  const err = (text: string) => process.stderr.write(`${text}\n`);
  const watchOutput = { write: (text: string) => process.stdout.write(text), isTTY: process.stdout.isTTY === true };
  const onInterrupt = (handler: () => void) => {
    process.once('SIGINT', handler);
    return () => {
      process.off('SIGINT', handler);
    };
  };
  const watching = { watch: values['no-watch'] !== true, format, err, onInterrupt };
  const runOptions = {
    ...watching,
    waitForAgents: values['wait-for-agents'] === true,
    yes: values.yes === true,
    terminal: processTerminal(),
  };
  const usageError = (message: string) => {
    process.stderr.write(`kubeha: ${message}\n\n${usage}\n`);
    return 2;
  };
  const count = positionals.length;
  if (verb === 'apply' || verb === 'plan') {
    if (!values.file || count > 1) return usageError(`${verb} needs -f FILE`);
    return applyCommand(api, values.file, watchOutput, err, {
      ...runOptions,
      ...(values['dead-node'] ? { deadNodes: values['dead-node'] } : {}),
      dryRun: verb === 'plan' || values['dry-run'] === true,
    });
  }
  if (verb === 'node' && noun === 'remove' && count === 4) {
    return nodeRemoveCommand(api, arg!, positionals[3]!, watchOutput, {
      ...runOptions,
      format,
      dead: values.dead === true,
    });
  }
  if (verb === 'get' && noun === 'cluster' && arg && count === 3) return getClusterCommand(api, out, arg, format);
  if (verb === 'get' && (noun === 'clusters' || noun === 'cluster') && count === 2) {
    return getClustersCommand(api, out, format);
  }
  if (verb === 'get' && (noun === 'nodes' || noun === 'node') && count <= 3) {
    return getNodesCommand(api, out, arg, format, Date.now());
  }
  if (verb === 'get' && (noun === 'runs' || noun === 'run') && count <= 3) {
    return getRunsCommand(api, out, arg, Date.now(), format);
  }
  if (verb === 'get' && (noun === 'certs' || noun === 'certificates') && arg && count === 3) {
    return getCertificatesCommand(api, out, err, arg, format);
  }
  if (verb === 'get' && (noun === 'tokens' || noun === 'token') && count === 2)
    return tokenListCommand(api, out, format);
  if (verb === 'describe' && noun === 'run' && count <= 3) {
    return describeRunCommand(api, await resolveRunId(api, arg, 'describe run'), out, format);
  }
  if (verb === 'watch' && count <= 2) {
    return watchCommand(api, await resolveRunId(api, noun, 'watch'), watchOutput, watching);
  }
  if (verb === 'run' && noun === 'cancel' && count <= 3) {
    return cancelRunCommand(api, await resolveRunId(api, arg, 'run cancel'), out, format);
  }
  if (verb === 'drill' && noun === 'failover' && arg && count === 3) {
    return drillFailoverCommand(api, arg, watchOutput, runOptions);
  }
  if (verb === 'verify' && noun && count === 2) {
    return verifyCommand(api, noun, watchOutput, { ...runOptions, now: Date.now });
  }
  if (verb === 'reset' && noun && count === 2) {
    return (await startRun(api, noun, 'reset', watchOutput, runOptions)).code;
  }
  if (verb === 'certs' && noun === 'renew' && arg && count === 3) {
    return (await startRun(api, arg, 'certs-renew', watchOutput, runOptions)).code;
  }
  if (verb === 'delete' && noun === 'cluster' && arg && count === 3) {
    return deleteClusterCommand(api, arg, out, err, runOptions);
  }
  if (verb === 'kubeconfig' && noun && count === 2) return kubeconfigCommand(api, noun, out);
  if (snapshotGet) {
    const [, , , cluster, id] = positionals;
    if (!cluster || !id || count !== 5 || !values.output)
      return usageError('etcd snapshot get needs CLUSTER ID -o FILE');
    return etcdSnapshotGetCommand(api, out, err, cluster, id, values.output);
  }
  if (verb === 'etcd' && noun === 'snapshot' && arg && count === 3) {
    return (await startRun(api, arg, 'etcd-snapshot', watchOutput, runOptions)).code;
  }
  if (verb === 'etcd' && noun === 'restore' && arg && count === 3) {
    if (!values.snapshot)
      return usageError('etcd restore needs --snapshot ID (kubeha etcd snapshots CLUSTER lists them)');
    const body = { snapshot: values.snapshot, ...(values.force ? { force: true } : {}) };
    return (await startRun(api, arg, 'etcd-restore', watchOutput, runOptions, body)).code;
  }
  if (verb === 'etcd' && noun === 'snapshots' && arg && count === 3) return etcdSnapshotsCommand(api, out, arg, format);
  if (verb === 'agents' && noun === 'approve' && arg && count === 3) {
    if (!values.node) return usageError('agents approve needs --node NODE');
    try {
      await api.request('POST', `/v1/agents/${encodeURIComponent(arg)}/approve`, { node: values.node });
    } catch (error) {
      throw inFlagTerms(error, { node: '--node' });
    }
    out(`agent ${arg} approved for node ${values.node}`);
    return 0;
  }
  if (verb === 'agents' && noun === 'revoke' && arg && count === 3) return revokeAgentCommand(api, arg, out, format);
  if (verb === 'token' && noun === 'delete' && arg && count === 3) return tokenDeleteCommand(api, arg, out);
  switch (words) {
    case 'agents':
    case 'get agents':
      return agentsCommand(api, out, Date.now(), format);
    case 'token list':
      return tokenListCommand(api, out, format);
    case 'token create':
      return tokenCreateCommand(api, out, {
        ttlSeconds,
        usageLimit,
        description: values.description,
        node: values.node,
        server: connection.server,
        format,
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
    if (error instanceof CliUsageError) {
      process.stderr.write(`kubeha: ${error.message} (kubeha --help for usage)\n`);
      process.exitCode = 2;
      return;
    }
    if (error instanceof ApiError) {
      process.stderr.write(`kubeha: ${error.message} (${error.code}, HTTP ${error.status})\n`);
      process.exitCode = error.status === 400 || error.status === 413 ? 2 : 1;
      return;
    }
    process.stderr.write(`kubeha: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof RunNotFound) {
      process.exitCode = 1;
      return;
    }
    process.exitCode = error instanceof TypeError && /parseArgs|option/i.test(error.message) ? 2 : 1;
  },
);
