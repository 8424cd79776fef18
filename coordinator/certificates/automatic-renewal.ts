import { isKubeadmRenewable } from '../../common/kubeadm-renewable-certificates.ts';
import type { Logger } from '../../common/logger.ts';
import { clusterSpecDefaults } from '../cluster-spec/cluster-spec-document.ts';
import type { RunKind } from '../plan/run-plan.ts';
import { AgentsByAddress } from '../scheduler/agent-for-node.ts';
import { specForRun } from '../scheduler/cluster-state.ts';
import type { RunRecord, Store } from '../store/store.ts';
import type { HeldCertificate } from './certificate-inventories.ts';

const dayMs = 86_400_000;

/** A renewal run, automatic or not, started this recently keeps the coordinator from starting another. */
export const automaticRenewalIntervalMs = dayMs;

export interface AutomaticRenewalDeps {
  store: Store;
  certificates: { of(agentId: string): readonly HeldCertificate[] };
  startRun(cluster: string, kind: RunKind, options: { startedBecause: string }): RunRecord;
  now: () => number;
  logger: Logger;
}

export interface AutomaticRenewalStarted {
  cluster: string;
  runId: string;
  reason: string;
}

/**
 * Starts a cluster's certificate renewal run when a control plane's agent reports a certificate that kubeadm renews
 * within `spec.certificates.renewBeforeDays`: never while a run of the cluster is going on, at most once a day (a
 * renewal run started by the operator counts), and only on reports received after the last renewal run ended, so
 * that an inventory older than the renewal does not start it again. The CAs are not renewed (kubeadm cannot), so
 * their expiry never starts a run.
 */
export class AutomaticCertificateRenewal {
  private readonly deps: AutomaticRenewalDeps;

  constructor(deps: AutomaticRenewalDeps) {
    this.deps = deps;
  }

  /** Looks at every cluster once; returns the runs it started. */
  check(): AutomaticRenewalStarted[] {
    const started: AutomaticRenewalStarted[] = [];
    for (const cluster of this.deps.store.clusters.list()) {
      const reason = this.dueReason(cluster.name);
      if (!reason) continue;
      try {
        const run = this.deps.startRun(cluster.name, 'certs-renew', { startedBecause: reason });
        this.deps.logger.info({ cluster: cluster.name, runId: run.id, reason }, 'certificate renewal run started');
        started.push({ cluster: cluster.name, runId: run.id, reason });
      } catch (error) {
        this.deps.logger.warn(
          { cluster: cluster.name, reason, err: (error as Error).message },
          'certificate renewal is due but the run could not start',
        );
      }
    }
    return started;
  }

  /** Why the cluster's renewal run should start now, or undefined. */
  private dueReason(clusterName: string): string | undefined {
    const { store, now } = this.deps;
    const cluster = store.clusters.get(clusterName);
    if (!cluster || cluster.initializedAt === null) return undefined;
    const spec = specForRun(cluster, 'certs-renew');
    const settings = spec.spec.certificates;
    if (settings?.autoRenew === false) return undefined;
    const renewBeforeDays = settings?.renewBeforeDays ?? clusterSpecDefaults.renewBeforeDays;
    const runs = store.runs.list(clusterName);
    if (runs.some((r) => r.state === 'running')) return undefined;
    const renewals = runs.filter((r) => r.kind === 'certs-renew');
    const t = now();
    if (renewals.some((r) => t - r.createdAt < automaticRenewalIntervalMs)) return undefined;
    const lastRenewalEnded = Math.max(0, ...renewals.map((r) => r.finishedAt ?? r.createdAt));
    const index = new AgentsByAddress(store.agents.list());
    let soonest: { node: string; certificate: HeldCertificate } | undefined;
    for (const node of spec.spec.nodes.filter((n) => n.role === 'control-plane')) {
      const agentId = store.bindings.bound(clusterName, node.name) ?? index.get(node.address)?.id;
      if (agentId === undefined) continue;
      for (const c of this.deps.certificates.of(agentId)) {
        if (c.isCa || !isKubeadmRenewable(c.name) || c.receivedAtMs <= lastRenewalEnded) continue;
        if (c.notAfterMs - t > renewBeforeDays * dayMs) continue;
        if (!soonest || c.notAfterMs < soonest.certificate.notAfterMs) soonest = { node: node.name, certificate: c };
      }
    }
    if (!soonest) return undefined;
    const { node, certificate } = soonest;
    const left = certificate.notAfterMs - t;
    const when =
      left <= 0
        ? `expired on ${new Date(certificate.notAfterMs).toISOString()}`
        : `expires in ${Math.floor(left / dayMs)} day(s), on ${new Date(certificate.notAfterMs).toISOString()}`;
    return `certificate ${certificate.name} of ${node} ${when}, within spec.certificates.renewBeforeDays (${renewBeforeDays})`;
  }
}
