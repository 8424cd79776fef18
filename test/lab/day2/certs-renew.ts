// The certificate renewal run on the lab's control planes: `kubeha certs renew` renews every certificate kubeadm
// renews on every control plane (each one's expiry moves forward), each apiserver then presents its renewed
// certificate on its own address, the coordinator's admin kubeconfig carries the renewed client certificate, and a
// client on a worker sees /readyz through the VIP throughout (longest gap).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { describeCertificate } from '../../../agent/kubeadm/certificate-inventory.ts';
import { renewableKubeconfigs, renewablePkiCertificates } from '../../../common/kubeadm-renewable-certificates.ts';
import { kubeadmCertificateValidityMs, renewIfExpiresBefore } from '../../../coordinator/plan/plan-certs-renew.ts';
import type { LabNode } from '../lab-node.ts';
import type { Day2Lab, Day2Scenario } from './day2-scenario.ts';

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** The client certificate embedded in a kubeconfig's first user, as PEM; undefined when there is none. */
export function kubeconfigCertificate(text: string): string | undefined {
  const users = (parseYaml(text) as { users?: { user?: { 'client-certificate-data'?: string } }[] } | null)?.users;
  const data = users?.find((u) => u.user?.['client-certificate-data'])?.user?.['client-certificate-data'];
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

/**
 * The not-after (ms) of each certificate `kubeadm certs renew all` renews, by name, read with `readFile` (a path on
 * the node -> its text, undefined when absent).
 */
export function renewableExpiries(readFile: (path: string) => string | undefined): Record<string, number> {
  const expiries: Record<string, number> = {};
  for (const name of renewablePkiCertificates) {
    const file = `/etc/kubernetes/pki/${name}.crt`;
    const pem = readFile(file);
    const report = pem === undefined ? undefined : describeCertificate(pem, { name, file });
    if (report) expiries[name] = report.notAfterMs;
  }
  for (const name of renewableKubeconfigs) {
    const file = `/etc/kubernetes/${name}`;
    const text = readFile(file);
    const pem = text === undefined ? undefined : kubeconfigCertificate(text);
    const report = pem === undefined ? undefined : describeCertificate(pem, { name, file });
    if (report) expiries[name] = report.notAfterMs;
  }
  return expiries;
}

function readOnNode(node: LabNode): (path: string) => string | undefined {
  return (path) => {
    try {
      return readFileSync(node.hostPath(path), 'utf8');
    } catch {
      return undefined;
    }
  };
}

/** The serial of the certificate the node's apiserver presents on its own address ("" when none came). */
async function servedSerial(node: LabNode): Promise<string> {
  const result = await node.run('openssl', ['s_client', '-connect', `${node.address}:6443`], { input: '' });
  const pem = certificateBlock.exec(result.stdout)?.[0];
  return pem ? new X509Certificate(pem).serialNumber : '';
}

function fileSerial(node: LabNode): string {
  const pem = readOnNode(node)('/etc/kubernetes/pki/apiserver.crt');
  return pem ? new X509Certificate(pem).serialNumber : '';
}

interface RunJson {
  state?: string;
  steps?: { id: string; state: string; startedAt?: string | null; finishedAt?: string | null }[];
}

/** The not-after of the client certificate in the admin kubeconfig the coordinator keeps. */
async function keptKubeconfigNotAfter(lab: Day2Lab): Promise<number> {
  const { kubeconfig } = (await lab.api('GET', `/v1/clusters/${lab.clusterName}/kubeconfig`)) as { kubeconfig: string };
  const pem = kubeconfigCertificate(kubeconfig);
  return pem ? Date.parse(new X509Certificate(pem).validTo) : 0;
}

async function renewalRun(lab: Day2Lab): Promise<{ ok: boolean; runId: string; lines: string[] }> {
  let runId = '';
  const lines: string[] = [];
  const ok = await lab.cli(['certs', 'renew', lab.clusterName], (line) => {
    lines.push(line);
    runId = /run (\S+) of \S+ started/.exec(line)?.[1] ?? runId;
  });
  if (!runId) throw new Error(`kubeha certs renew ${lab.clusterName}: no run started`);
  return { ok, runId, lines };
}

export const certsRenew: Day2Scenario = {
  name: 'certs-renew',
  summary:
    'kubeha certs renew: every renewable certificate renewed, each apiserver serves its new one, /readyz through the VIP throughout',
  async run(lab) {
    const controlPlanes = [...lab.controlPlanes];
    let before = new Map(controlPlanes.map((cp) => [cp.name, renewableExpiries(readOnNode(cp))]));
    // A certificate issued in the 2 minutes before the request counts as renewed already (the nodes' clocks may lag
    // the coordinator's): the last join must be older than that for every certificate to be renewed.
    const newestIssue = Math.max(
      ...[...before.values()]
        .flatMap((e) => Object.values(e))
        .map((notAfter) => notAfter - kubeadmCertificateValidityMs),
    );
    const allowanceMs = kubeadmCertificateValidityMs - Date.parse(renewIfExpiresBefore(0));
    const waitMs = newestIssue + allowanceMs + 5_000 - Date.now();
    if (waitMs > 0) {
      lab.log(`certs-renew: waiting ${Math.ceil(waitMs / 1000)} s until the last join's certificates are old enough`);
      await new Promise((r) => setTimeout(r, waitMs));
      before = new Map(controlPlanes.map((cp) => [cp.name, renewableExpiries(readOnNode(cp))]));
    }
    const keptBefore = await keptKubeconfigNotAfter(lab);
    const servedBefore = new Map<string, string>();
    for (const cp of controlPlanes) servedBefore.set(cp.name, await servedSerial(cp));

    const watch = lab.watchEndpoint();
    await new Promise((r) => setTimeout(r, 1000));
    const startedAt = Date.now();
    const first = await renewalRun(lab);
    const wallS = (Date.now() - startedAt) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const endpoint = watch.stop();
    const run = (await lab.api('GET', `/v1/runs/${first.runId}`)) as RunJson;

    let renewable = 0;
    let movedForward = 0;
    const notMoved: string[] = [];
    for (const cp of controlPlanes) {
      const now = renewableExpiries(readOnNode(cp));
      for (const [name, notAfter] of Object.entries(before.get(cp.name) ?? {})) {
        renewable++;
        if ((now[name] ?? 0) > notAfter) movedForward++;
        else notMoved.push(`${cp.name} ${name}`);
      }
    }
    const servingRenewed: string[] = [];
    const servingOld: string[] = [];
    for (const cp of controlPlanes) {
      const served = await servedSerial(cp);
      if (served !== '' && served === fileSerial(cp) && served !== servedBefore.get(cp.name))
        servingRenewed.push(cp.name);
      else servingOld.push(cp.name);
    }
    const keptAfter = await keptKubeconfigNotAfter(lab);

    return {
      control_planes: controlPlanes.length,
      run_ok: first.ok,
      run_state: run.state,
      run_wall_s: Math.round(wallS * 10) / 10,
      steps: (run.steps ?? []).map((s) => `${s.id} ${s.state}`),
      renewable_certificates: renewable,
      moved_forward: movedForward,
      not_moved: notMoved,
      serving_renewed: servingRenewed,
      serving_old: servingOld,
      kubeconfig_renewed: keptAfter > keptBefore,
      readyz_longest_gap_s: endpoint.longestGapS,
      readyz_probes: endpoint.probes,
      readyz_failed_probes: endpoint.failedProbes,
      readyz_recovered: endpoint.recovered,
    };
  },
  check(result) {
    expect(result['run_ok']).toBe(true);
    expect(result['run_state']).toBe('succeeded');
    const controlPlanes = result['control_planes'] as number;
    expect(result['steps']).toHaveLength(controlPlanes);
    // kubeadm renews 7 PKI certificates and the client certificates of 3 or 4 kubeconfigs on each control plane.
    expect(result['renewable_certificates']).toBeGreaterThanOrEqual(controlPlanes * 10);
    expect(result['not_moved']).toEqual([]);
    expect(result['moved_forward']).toBe(result['renewable_certificates']);
    expect(result['serving_old']).toEqual([]);
    expect(result['serving_renewed']).toHaveLength(controlPlanes);
    expect(result['kubeconfig_renewed']).toBe(true);
    // One control plane restarts at a time: the others keep the endpoint answering.
    expect(result['readyz_probes']).toBeGreaterThan(20);
    expect(result['readyz_recovered']).toBe(true);
    expect(result['readyz_longest_gap_s']).toBeLessThan(5);
  },
};
