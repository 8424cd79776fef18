import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { type KubeadmInitParams, KubeadmInitParamsSchema } from '../../proto/step-params/kubeadm-init-params.ts';
import type { Host } from '../host/host.ts';
import { execRedacted } from '../kubeadm/exec-redacted.ts';
import { parseJoinCommands } from '../kubeadm/join-command.ts';
import { renderInitConfig } from '../kubeadm/kubeadm-config.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { cidrProblem, endpointProblem } from '../kubeadm/kubeadm-patterns.ts';
import { readCaCertHash } from '../kubeadm/read-ca-cert-hash.ts';
import { ensureKubeadmConfigFile } from '../kubeadm/secret-config-file.ts';
import { type PlannedChange, plannedStep, type StepContext } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams } from '../step-execution/step-params.ts';

const defaultTokenTtlSeconds = 24 * 3600;

function parseParams(raw: unknown): KubeadmInitParams {
  const params = parseStepParams('kubeadm-init', KubeadmInitParamsSchema, raw, (p) =>
    [
      ['controlPlaneEndpoint', endpointProblem(p.controlPlaneEndpoint)],
      ['advertiseAddress', isIpAddress(p.advertiseAddress) ? undefined : 'not an IP address'],
      ['podSubnet', cidrProblem(p.podSubnet)],
      ['serviceSubnet', cidrProblem(p.serviceSubnet)],
    ]
      .filter(([, problem]) => problem !== undefined)
      .map(([field, problem]) => `${field}: ${problem}`),
  );
  // proto3 sends 0 for "not set"; a 0 TTL would make kubeadm's token never expire.
  return { ...params, tokenTtlSeconds: params.tokenTtlSeconds || defaultTokenTtlSeconds };
}

/** The node is initialised once kubeadm has written the cluster CA and the admin kubeconfig. */
export async function isKubeadmInitialised(host: Host): Promise<boolean> {
  return (await host.exists(kubeadmPaths.adminConf)) && (await host.exists(kubeadmPaths.caCert));
}

/** What an interrupted `kubeadm init` leaves behind; kubeadm's preflight refuses to start over it. */
async function initLeftovers(host: Host): Promise<string[]> {
  const found: string[] = [];
  for (const name of await host.listDir(kubeadmPaths.manifestsDir)) found.push(`${kubeadmPaths.manifestsDir}/${name}`);
  for (const path of [kubeadmPaths.kubeletConf, `${kubeadmPaths.etcdDataDir}/member`]) {
    if (await host.exists(path)) found.push(path);
  }
  // kubeadm reset empties the certificates directory but leaves it.
  if ((await host.listDir(kubeadmPaths.pkiDir)).length > 0) found.push(kubeadmPaths.pkiDir);
  return found;
}

async function runKubeadmInit(ctx: StepContext<KubeadmInitParams>): Promise<void> {
  const { stdout } = await execRedacted(ctx.host, ctx.log, 'kubeadm', [
    'init',
    '--config',
    kubeadmPaths.initConfig,
    '--upload-certs',
  ]);
  let printed: string[] = [];
  try {
    printed = parseJoinCommands(stdout).flatMap((c) => c.caCertHashes);
  } catch (error) {
    // Only a cross-check: the cluster is up, and the hash below comes from ca.crt itself.
    ctx.log(`could not read the join commands kubeadm printed: ${(error as Error).message}`);
  }
  const computed = await readCaCertHash(ctx.host);
  if (printed.length > 0 && !printed.includes(computed)) {
    throw new KubehaError(
      ErrorCode.stepFailed,
      `the CA hash kubeadm printed does not match the hash of ${kubeadmPaths.caCert}`,
    );
  }
}

async function plan(ctx: StepContext<KubeadmInitParams>): Promise<PlannedChange[]> {
  const { host, params } = ctx;
  if (await isKubeadmInitialised(host)) return [];
  const changes: PlannedChange[] = [];
  const leftovers = await initLeftovers(host);
  if (leftovers.length > 0) {
    changes.push({
      description: `kubeadm reset -f (an interrupted kubeadm init left ${leftovers.join(', ')})`,
      apply: async () => {
        await execRedacted(host, ctx.log, 'kubeadm', ['reset', '-f']);
      },
    });
  }
  changes.push(...(await ensureKubeadmConfigFile(host, kubeadmPaths.initConfig, renderInitConfig(params))));
  changes.push({
    description: `kubeadm init --config ${kubeadmPaths.initConfig} --upload-certs`,
    apply: () => runKubeadmInit(ctx),
  });
  return changes;
}

/**
 * kubeadm init on the first control plane from a rendered config (endpoint, subnets, advertise address and node-ip,
 * pinned version, systemd cgroup driver, the coordinator's bootstrap token and certificate key).
 * Outputs "caCertHash", the discovery hash of /etc/kubernetes/pki/ca.crt, "caCertPem", the certificate itself, and
 * "kubeconfig", the admin kubeconfig kubeadm wrote, also when the node was already initialised.
 */
export const kubeadmInitStep = plannedStep<KubeadmInitParams>({
  kind: 'kubeadm-init',
  parseParams,
  plan,
  async verify(ctx) {
    ctx.output('caCertHash', await readCaCertHash(ctx.host));
    // The CA certificate is public: the coordinator hands it to every agent so that probes verify the apiservers.
    ctx.output('caCertPem', (await ctx.host.readFile(kubeadmPaths.caCert)) ?? '');
    // The operator's admin kubeconfig (served by GET /v1/clusters/NAME/kubeconfig); the coordinator keeps it secret.
    const adminConf = await ctx.host.readFile(kubeadmPaths.adminConf);
    if (adminConf) ctx.output('kubeconfig', adminConf);
  },
});
