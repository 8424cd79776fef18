// `npm run lab`: the whole system on this machine. As root: builds lab nodes, runs the real coordinator
// and agents in them, deploys the lab cluster with the real CLI, verifies it, runs the failover drill and prints a
// report; tears everything down on success, on failure and on Ctrl-C unless --keep.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { day2Scenarios, selectDay2Scenarios } from './day2/scenarios.ts';
import { realKubePrograms, realPrograms } from './kube-binaries.ts';
import { teardownLab } from './lab-network.ts';
import { LabRun } from './lab-run.ts';
import { ensureLabPackages, goVerdict, type SetupHost } from './lab-setup.ts';

const usage = () => `Usage: npm run lab -- [--control-planes N] [--workers N] [--report FILE] [--keep] [--no-install]
                      [--subnet 10.231.0] [--restart-coordinator-mid-deploy] [--skip-drill] [--drill-rounds N] [--stand-ins] [--mirrors]
                      [--endpoint-mode haproxy-keepalived|keepalived] [--fail-join NODE]   (real lab: the first kubeadm join of NODE is killed once its etcd member is added)
                      [--pod-traffic-fault NODE]   (real lab: NODE drops forwarded pod traffic; verify must name it, then pass once it is lifted)
                      [--day2 NAME[,NAME...]|all]   (after the drill, day-2 scenarios on the deployed cluster, in order:
                                                     ${day2Scenarios.map((s) => `${s.name}: ${s.summary}`).join('; ') || 'none yet'})
       npm run lab -- --teardown ID     (removes a lab left running with --keep)
As root with apt-get or dnf, the lab installs the packages it misses (keepalived, haproxy, firewalld...) unless
--no-install; with Go 1.26+ it builds the real Kubernetes programs once (cached in ~/.cache/kubeha).`;

/** This machine, for the set-up. */
function thisMachine(): SetupHost {
  const runs = (command: string, args: readonly string[]) =>
    spawnSync(command, [...args], { stdio: 'ignore' }).error === undefined;
  return {
    isRoot: process.getuid?.() === 0,
    packageManager: runs('apt-get', ['--version']) ? 'apt-get' : runs('dnf', ['--version']) ? 'dnf' : undefined,
    runs,
    run: (command, args) => spawnSync(command, [...args], { stdio: 'inherit' }).status ?? 1,
  };
}

function goVersion(): string | undefined {
  const result = spawnSync('go', ['version'], { encoding: 'utf8' });
  return result.error === undefined && result.status === 0 ? result.stdout : undefined;
}

function formatReport(report: Awaited<ReturnType<LabRun['run']>>, wallS: number): string {
  const lines = ['', '== kubeha lab report', ''];
  for (const p of report.phases)
    lines.push(`  ${p.ok ? 'ok  ' : 'FAIL'}  ${p.name.padEnd(42)} ${p.seconds.toFixed(1).padStart(7)} s`);
  lines.push(`        ${'wall time'.padEnd(42)} ${wallS.toFixed(1).padStart(7)} s`, '');
  const { before, after } = report.plan;
  if (before) {
    lines.push(
      `  plan before the apply:    ${before.would_change.length} step(s) would change something on ${before.nodes_with_changes.length} node(s), ${before.node_files_changed.length} file(s) changed on the nodes`,
    );
  }
  lines.push(`  deploy run succeeded:     ${report.run_succeeded}`);
  lines.push(`  /readyz through the VIP:  ${report.readyz_through_vip}`);
  lines.push(`  verify all green:         ${report.verify_ok}`);
  if (report.reapply) {
    lines.push(
      `  same spec applied again:  ${report.reapply.up_to_date ? 'up to date' : 'NOT up to date'} in ${report.reapply.seconds.toFixed(1)} s, ${report.reapply.changed_steps.length} step(s) changed something`,
    );
  }
  if (after) {
    lines.push(
      `  plan after the apply:     ${after.same_spec ? 'no difference' : 'DIFFERENCES'}, ${after.would_change.length} step(s) would change something${report.plan.deploy_left_undone?.length ? `; the deploy found ${report.plan.deploy_left_undone.length} planned step(s) done already` : ''}`,
    );
  }
  lines.push(
    `  failover gap:             ${report.failover_gap_s === null ? 'not measured' : `${report.failover_gap_s} s`}`,
  );
  lines.push(
    `  VIP holders:              ${report.vip_holders.length > 0 ? report.vip_holders.map((h) => h.join('+') || 'none').join(' -> ') : 'not watched'}${report.vip_holders_max === null ? '' : ` (at most ${report.vip_holders_max} at once)`}`,
  );
  if (report.endpoint_recovered !== null) lines.push(`  endpoint recovered:       ${report.endpoint_recovered}`);
  lines.push(`  Kubernetes:               v${report.kubernetes_version}, real: ${report.real_components.join(', ')}`);
  if (report.nodes_ready !== null) lines.push(`  nodes Ready (kubectl):    ${report.nodes_ready}`);
  if (report.etcd_voting_members !== null) lines.push(`  etcd voting members:      ${report.etcd_voting_members}`);
  if (report.failed_join)
    lines.push(
      `  failed join of ${report.failed_join.node}:      etcd member ${report.failed_join.member_id || '(not seen)'} ${report.failed_join.member_removed ? 'removed' : 'NOT removed'}, retry ${report.failed_join.retried ? 'joined' : 'did not join'}`,
    );
  if (report.pod_traffic_fault)
    lines.push(
      `  pod-traffic fault on ${report.pod_traffic_fault.node}: verify ${report.pod_traffic_fault.verify_ok ? 'passed (WRONG)' : 'failed'}, failing pairs ${report.pod_traffic_fault.failed_pairs.join(', ') || 'none'}`,
    );
  if (report.coordinator_restarted) lines.push('  coordinator killed and restarted mid-deploy: yes');
  for (const [name, result] of Object.entries(report.day2)) {
    lines.push(
      `  day 2 ${`${name}:`.padEnd(20)} ${'error' in result ? `FAILED: ${String(result['error'])}` : JSON.stringify(result)}`,
    );
  }
  if (report.error) lines.push('', `  stopped at "${report.stopped_at ?? 'setup'}": ${report.error}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'control-planes': { type: 'string', default: '3' },
      workers: { type: 'string', default: '2' },
      report: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'no-install': { type: 'boolean', default: false },
      // The default now; kept so that older command lines still run.
      'install-deps': { type: 'boolean', default: false },
      subnet: { type: 'string', default: '10.231.0' },
      'restart-coordinator-mid-deploy': { type: 'boolean', default: false },
      'skip-drill': { type: 'boolean', default: false },
      'drill-rounds': { type: 'string', default: '1' },
      'stand-ins': { type: 'boolean', default: false },
      'fail-join': { type: 'string' },
      'pod-traffic-fault': { type: 'string' },
      'endpoint-mode': { type: 'string', default: 'haproxy-keepalived' },
      mirrors: { type: 'boolean', default: false },
      day2: { type: 'string' },
      teardown: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const machine = thisMachine();
  if (!values.teardown) {
    const packages = ensureLabPackages(machine, { install: !values['no-install'] }, (line) => console.log(line));
    if (!packages.ok) return packages.exitCode;
  }
  if (!machine.isRoot) {
    console.error('the lab needs root (network, mount and UTS namespaces): sudo npm run lab');
    return 2;
  }
  if (values.teardown) {
    const left = await teardownLab(values.teardown);
    console.log(left.length === 0 ? `lab ${values.teardown} removed` : `left behind:\n  ${left.join('\n  ')}`);
    return left.length === 0 ? 0 : 1;
  }
  const controlPlanes = Number(values['control-planes']);
  const workers = Number(values.workers);
  if (
    !Number.isInteger(controlPlanes) ||
    controlPlanes < 1 ||
    controlPlanes > 7 ||
    !Number.isInteger(workers) ||
    workers < 0 ||
    workers > 20
  ) {
    console.error(`--control-planes must be 1..7 and --workers 0..20\n${usage()}`);
    return 2;
  }
  if (values['endpoint-mode'] !== 'haproxy-keepalived' && values['endpoint-mode'] !== 'keepalived') {
    console.error(`--endpoint-mode must be haproxy-keepalived or keepalived\n${usage()}`);
    return 2;
  }
  if (!Number.isInteger(Number(values['drill-rounds'])) || Number(values['drill-rounds']) < 1) {
    console.error(`--drill-rounds takes a whole number of at least 1\n${usage()}`);
    return 2;
  }
  if (values['fail-join'] && (values['stand-ins'] || !/^cp[2-7]$/.test(values['fail-join']))) {
    console.error(`--fail-join takes a joining control plane (cp2, cp3...) of the real lab\n${usage()}`);
    return 2;
  }
  const podTrafficFault = values['pod-traffic-fault'];
  if (podTrafficFault && (values['stand-ins'] || !/^(cp[1-7]|w\d{1,2})$/.test(podTrafficFault))) {
    console.error(`--pod-traffic-fault takes a cluster node (cp1, w1...) of the real lab\n${usage()}`);
    return 2;
  }
  let day2: ReturnType<typeof selectDay2Scenarios> = [];
  try {
    day2 = values.day2 ? selectDay2Scenarios(values.day2.split(',').map((n) => n.trim())) : [];
  } catch (error) {
    console.error(`--day2: ${error instanceof Error ? error.message : String(error)}\n${usage()}`);
    return 2;
  }
  const go = values['stand-ins'] ? undefined : goVerdict(goVersion());
  if (go) console.log(go.message);
  const real = go?.buildable ? await realKubePrograms((line) => console.log(line)) : undefined;
  if (real) console.log(`real Kubernetes v${real.kubernetesVersion} control plane: ${realPrograms.join(', ')}`);
  else if (values['stand-ins']) console.log('stand-in control plane (--stand-ins)');
  const started = Date.now();
  const lab = new LabRun({
    realBinaries: real,
    controlPlanes,
    workers,
    subnet: values.subnet,
    restartCoordinatorMidDeploy: values['restart-coordinator-mid-deploy'],
    skipDrill: values['skip-drill'],
    drillRounds: Number(values['drill-rounds']),
    failJoin: values['fail-join'],
    podTrafficFault,
    endpointMode: values['endpoint-mode'] === 'keepalived' ? 'keepalived' : 'haproxy-keepalived',
    mirrors: values.mirrors,
    day2,
    log: (line) => console.log(line),
  });
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.log(`\n${signal}: tearing the lab down`);
    void lab.network.teardown().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const report = await lab.run();
  const wallS = (Date.now() - started) / 1000;
  console.log(formatReport(report, wallS));
  if (values.report) writeFileSync(values.report, `${JSON.stringify({ ...report, wall_s: wallS }, null, 2)}\n`);
  const ok =
    report.run_succeeded &&
    report.verify_ok &&
    report.readyz_through_vip &&
    report.endpoint_recovered !== false &&
    (report.vip_holders_max ?? 1) <= 1 &&
    (!report.failed_join || (report.failed_join.member_removed && report.failed_join.retried)) &&
    Object.values(report.day2).every((result) => !('error' in result)) &&
    !report.error;
  if (values.keep) {
    console.log(`\nthe lab keeps running (--keep):\n${lab.howToReach()}`);
    process.exit(ok ? 0 : 1);
  }
  if (!interrupted) {
    await lab.network.teardown();
    const left = lab.network.leftovers();
    console.log(
      left.length === 0
        ? '\ntorn down: no lab namespace, mount, process or directory left'
        : `\nleft behind:\n  ${left.join('\n  ')}`,
    );
  }
  return ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
