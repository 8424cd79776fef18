import { X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { renewableKubeconfigs, renewablePkiCertificates } from '../../common/kubeadm-renewable-certificates.ts';
import { type CertsRenewParams, CertsRenewParamsSchema } from '../../proto/step-params/certs-renew-params.ts';
import type { Host } from '../host/host.ts';
import { apiserverPort, getReadyz, hostPort, readyzProblem } from '../kubeadm/apiserver-readyz.ts';
import { describeCertificate } from '../kubeadm/certificate-inventory.ts';
import { etcdContainerId, etcdctl, parseEndpointHealth } from '../kubeadm/etcdctl.ts';
import { kubeadmPaths } from '../kubeadm/kubeadm-paths.ts';
import { type PlannedChange, plannedStep, type StepContext, type StepDefinition } from '../step-execution/step.ts';
import { isIpAddress, parseStepParams } from '../step-execution/step-params.ts';

export interface CertsRenewOptions {
  pollMs: number;
  now: () => number;
}

const defaults: CertsRenewOptions = { pollMs: 2_000, now: () => Date.now() };

/** Outside the manifests directory, which the kubelet reads: a manifest in here is a static pod stopped on purpose. */
export const parkedManifestsDir = '/etc/kubernetes/kubeha-certs-renew-parked';

/** kubeadm's static pods; each manifest's file name is also its container's name. */
export const staticPods = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

interface Renewable {
  name: string;
  notAfterMs: number;
}

async function renewableCertificates(host: Host): Promise<Renewable[]> {
  const found: Renewable[] = [];
  const describe = (pem: string, name: string, file: string) => {
    const report = describeCertificate(pem, { name, file });
    if (report) found.push({ name, notAfterMs: report.notAfterMs });
  };
  for (const name of renewablePkiCertificates) {
    const file = `${kubeadmPaths.pkiDir}/${name}.crt`;
    const pem = await host.readFile(file);
    if (pem !== undefined) describe(pem, name, file);
  }
  for (const name of renewableKubeconfigs) {
    const file = `${kubeadmPaths.kubernetesDir}/${name}`;
    const text = await host.readFile(file);
    if (text === undefined) continue;
    const users = (parseYaml(text) as { users?: { user?: { 'client-certificate-data'?: string } }[] } | null)?.users;
    for (const user of users ?? []) {
      const data = user.user?.['client-certificate-data'];
      if (data) describe(Buffer.from(data, 'base64').toString('utf8'), name, file);
    }
  }
  return found;
}

const caFiles = ['ca', 'front-proxy-ca', 'etcd/ca'];

/** "ca until 2035-11-30" for each CA of this node's PKI. */
async function caExpiries(host: Host): Promise<string[]> {
  const found: string[] = [];
  for (const name of caFiles) {
    const file = `${kubeadmPaths.pkiDir}/${name}.crt`;
    const pem = await host.readFile(file);
    const report = pem === undefined ? undefined : describeCertificate(pem, { name, file });
    if (report) found.push(`${name} until ${day(report.notAfterMs)}`);
  }
  return found;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

interface ServingCertificate {
  serialNumber: string;
  notAfterMs: number;
}

function serving(pem: string): ServingCertificate {
  const certificate = new X509Certificate(pem);
  return { serialNumber: certificate.serialNumber, notAfterMs: Date.parse(certificate.validTo) };
}

/** The certificate the apiserver presents on its own address, or the reason it could not be read. */
async function servedCertificate(host: Host, address: string): Promise<ServingCertificate | string> {
  const result = await host.exec('openssl', ['s_client', '-connect', hostPort(address, apiserverPort)], {
    input: '',
    allowFailure: true,
    timeoutMs: 10_000,
    onLine: () => {},
  });
  const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(result.stdout)?.[0];
  if (!block) return `no certificate from ${hostPort(address, apiserverPort)} (openssl exited with ${result.exitCode})`;
  return serving(block);
}

async function fileCertificate(host: Host): Promise<ServingCertificate> {
  const file = `${kubeadmPaths.pkiDir}/apiserver.crt`;
  const pem = await host.readFile(file);
  if (pem === undefined) throw new KubehaError(ErrorCode.stepFailed, `${file} does not exist: not a control plane`);
  return serving(pem);
}

/** What still keeps this control plane from serving with its certificates on disk; empty when nothing does. */
async function notServingYet(host: Host, address: string): Promise<string[]> {
  const problems: string[] = [];
  const readyz = readyzProblem(await getReadyz(host, hostPort(address, apiserverPort)));
  if (readyz) problems.push(readyz);
  const onDisk = await fileCertificate(host);
  const served = await servedCertificate(host, address);
  if (typeof served === 'string') problems.push(served);
  else if (served.serialNumber !== onDisk.serialNumber) {
    problems.push(
      `the apiserver serves a certificate expiring ${day(served.notAfterMs)}, not apiserver.crt's (expiring ${day(onDisk.notAfterMs)})`,
    );
  }
  let etcdHealthy = false;
  try {
    const health = await etcdctl(host, await etcdContainerId(host), ['endpoint', 'health', '-w', 'json'], true);
    // crictl drops a failing etcdctl's answer: only a zero exit with a healthy answer counts.
    const endpoints = health.exitCode === 0 && health.stdout.trim() ? parseEndpointHealth(health.stdout) : [];
    etcdHealthy = endpoints.length > 0 && endpoints.every((e) => e.healthy);
  } catch {
    // No etcd container yet, or no answer: not healthy yet.
  }
  if (!etcdHealthy) problems.push('its etcd member is not healthy (etcdctl endpoint health)');
  for (const name of await runningContainers(host, ['kube-controller-manager', 'kube-scheduler'], false)) {
    problems.push(`${name} is not running`);
  }
  return problems;
}

/** The named containers that are running (or, with `running` false, that are not). */
export async function runningContainers(host: Host, names: readonly string[], running = true): Promise<string[]> {
  const matching: string[] = [];
  for (const name of names) {
    const { stdout } = await host.exec(
      'crictl',
      ['ps', '--state', 'Running', '--label', `io.kubernetes.container.name=${name}`, '-q'],
      { onLine: () => {} },
    );
    if ((stdout.trim() !== '') === running) matching.push(name);
  }
  return matching;
}

async function waitFor(
  ctx: StepContext<CertsRenewParams>,
  options: CertsRenewOptions,
  what: string,
  problemsNow: () => Promise<string[]>,
): Promise<void> {
  const deadline = options.now() + ctx.params.restartTimeoutSeconds * 1000;
  for (;;) {
    const problems = await problemsNow();
    if (problems.length === 0) return;
    if (options.now() >= deadline || ctx.signal.aborted) {
      throw new KubehaError(
        ErrorCode.stepFailed,
        `${what}: not done after ${ctx.params.restartTimeoutSeconds} s: ${problems.join('; ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.pollMs));
  }
}

const manifest = (dir: string, pod: string) => `${dir}/${pod}.yaml`;

/**
 * The restart kubeadm documents for renewed certificates: the kubelet stops a static pod whose manifest leaves its
 * directory and starts it again when the manifest comes back. A restart interrupted half-way is finished from where
 * the manifests are.
 */
async function restartStaticPods(ctx: StepContext<CertsRenewParams>, options: CertsRenewOptions): Promise<void> {
  const { host, params } = ctx;
  await host.mkdir(parkedManifestsDir, 0o700);
  const parked: string[] = [];
  for (const pod of staticPods) {
    if (await host.exists(manifest(kubeadmPaths.manifestsDir, pod))) {
      await host.rename(manifest(kubeadmPaths.manifestsDir, pod), manifest(parkedManifestsDir, pod));
    }
    if (await host.exists(manifest(parkedManifestsDir, pod))) parked.push(pod);
  }
  ctx.log(`moved ${parked.join(', ')} out of ${kubeadmPaths.manifestsDir}; waiting until the kubelet has stopped them`);
  let stopWait: unknown;
  try {
    await waitFor(ctx, options, 'the kubelet stopping the static pods', async () =>
      (await runningContainers(host, parked)).map((name) => `${name} still runs`),
    );
  } catch (error) {
    stopWait = error;
  }
  // Back in any case: a control plane left without its manifests is worse than one restarted late.
  for (const pod of parked)
    await host.rename(manifest(parkedManifestsDir, pod), manifest(kubeadmPaths.manifestsDir, pod));
  await host.remove(parkedManifestsDir);
  if (stopWait) throw stopWait;
  ctx.log(`moved ${parked.join(', ')} back; waiting until ${params.apiserverAddress} serves the new certificate`);
  await waitFor(ctx, options, `restarting the static pods of ${params.apiserverAddress}`, () =>
    notServingYet(host, params.apiserverAddress),
  );
}

function plan(options: CertsRenewOptions) {
  return async (ctx: StepContext<CertsRenewParams>): Promise<PlannedChange[]> => {
    const { host, params } = ctx;
    const restart: PlannedChange = {
      description: `restart the static pods (${staticPods.join(', ')}): their manifests out of ${kubeadmPaths.manifestsDir} until the kubelet has stopped them, then back; wait until https://${hostPort(params.apiserverAddress, apiserverPort)}/readyz answers with the renewed certificate and etcd is healthy`,
      apply: () => restartStaticPods(ctx, options),
    };
    if ((await host.listDir(parkedManifestsDir)).length > 0) {
      return [{ ...restart, description: `finish an interrupted restart: ${restart.description}` }];
    }
    const certificates = await renewableCertificates(host);
    if (certificates.length === 0) {
      throw new KubehaError(
        ErrorCode.stepFailed,
        `no certificate that kubeadm renews under ${kubeadmPaths.pkiDir} or ${kubeadmPaths.kubernetesDir}: not a control plane`,
      );
    }
    certificates.sort((a, b) => a.notAfterMs - b.notAfterMs);
    const first = certificates[0]!;
    const limit = Date.parse(params.renewIfExpiresBefore);
    const due = certificates.filter((c) => c.notAfterMs < limit);
    if (due.length > 0) {
      return [
        {
          description: `kubeadm certs renew all (${due.length} of ${certificates.length} certificates expire before ${params.renewIfExpiresBefore}, the first ${first.name} on ${day(first.notAfterMs)})`,
          apply: async () => {
            await host.exec('kubeadm', ['certs', 'renew', 'all'], { timeoutMs: 120_000 });
          },
        },
        restart,
      ];
    }
    // Renewed, but the pods were not restarted (the agent stopped in between): the certificates on disk are not used.
    const served = await servedCertificate(host, params.apiserverAddress);
    const onDisk = await fileCertificate(host);
    if (typeof served !== 'string' && served.serialNumber !== onDisk.serialNumber) {
      return [
        {
          ...restart,
          description: `${restart.description} (it serves a certificate expiring ${day(served.notAfterMs)}, apiserver.crt expires ${day(onDisk.notAfterMs)})`,
        },
      ];
    }
    ctx.log(
      `not renewed: every certificate kubeadm renews is valid beyond ${params.renewIfExpiresBefore} (the first, ${first.name}, until ${day(first.notAfterMs)})`,
    );
    return [];
  };
}

/**
 * Renews this control plane's certificates with `kubeadm certs renew all` when one of them expires before
 * `renewIfExpiresBefore`, restarts its static pods so that they load them, and waits until its apiserver answers
 * /readyz on its own address with the renewed certificate and its etcd member is healthy. The CAs are not renewed:
 * their expiry is logged. Outputs "kubeconfig", the node's admin.conf, renewed or not.
 */
export function createCertsRenewStep(options: CertsRenewOptions = defaults): StepDefinition<CertsRenewParams> {
  return plannedStep<CertsRenewParams>({
    kind: 'certs-renew',
    parseParams: (raw) =>
      parseStepParams('certs-renew', CertsRenewParamsSchema, raw, (p) => [
        ...(isIpAddress(p.apiserverAddress) ? [] : ['apiserverAddress: not an IP address']),
        ...(Number.isNaN(Date.parse(p.renewIfExpiresBefore)) ? ['renewIfExpiresBefore: not a time'] : []),
      ]),
    plan: plan(options),
    async verify(ctx) {
      await waitFor(ctx, options, `${ctx.params.apiserverAddress} serving its certificates`, () =>
        notServingYet(ctx.host, ctx.params.apiserverAddress),
      );
      const cas = await caExpiries(ctx.host);
      if (cas.length > 0) ctx.log(`not renewed by kubeadm (renew by hand before then): ${cas.join(', ')}`);
      // The operator's admin kubeconfig carries a renewed client certificate: the coordinator keeps it (secret).
      const adminConf = await ctx.host.readFile(kubeadmPaths.adminConf);
      if (adminConf) ctx.output('kubeconfig', adminConf);
    },
  });
}

export const certsRenewStep = createCertsRenewStep();
