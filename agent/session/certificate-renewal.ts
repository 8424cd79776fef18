import { createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import type { Logger } from '../../common/logger.ts';
import type { AgentMessage } from '../../proto/generated/kubeha/v1/AgentMessage.ts';
import type { CertificateRenewal__Output } from '../../proto/generated/kubeha/v1/CertificateRenewal.ts';
import { writePrivateFile } from '../agent-files.ts';
import { newAgentKeyRequest } from '../enrollment/agent-key-request.ts';

export interface AgentCredentialFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Stages of a renewal a test can stop the agent at, as a crash would. */
export type RenewalStage = 'requested' | 'received' | 'written';

export interface CertificateRenewalOptions {
  agentId: string;
  files: AgentCredentialFiles;
  logger: Logger;
  now: () => number;
  /** At most one request per interval, whatever the certificate says: a coordinator issuing short-lived certificates
   *  must not make the agent renew on every reconnect. */
  checkIntervalMs: number;
  send(message: AgentMessage): boolean;
  /** Opens a new session with the new credentials (the files already hold them). */
  switchTo(credentials: { certPem: Buffer; keyPem: Buffer }): void;
  onStage?(stage: RenewalStage): void;
}

/** True once less than a third of the certificate's life is left. */
export function renewalDue(certificatePem: string | Buffer, now: number): boolean {
  const certificate = new X509Certificate(certificatePem);
  const from = Date.parse(certificate.validFrom);
  const to = Date.parse(certificate.validTo);
  return to - now < (to - from) / 3;
}

const next = (path: string) => `${path}.next`;

/**
 * Completes a credential switch a crash interrupted. The new files are written beside the old ones as `.next`, then
 * moved key first, certificate last: a certificate `.next` means the coordinator signed it, so the switch goes
 * forward; a key `.next` alone means the certificate never arrived, so it is dropped.
 */
export function finishInterruptedSwitch(files: AgentCredentialFiles): 'none' | 'completed' | 'discarded' {
  if (!existsSync(next(files.certFile))) {
    if (!existsSync(next(files.keyFile))) return 'none';
    rmSync(next(files.keyFile), { force: true });
    return 'discarded';
  }
  if (existsSync(next(files.keyFile))) renameSync(next(files.keyFile), files.keyFile);
  renameSync(next(files.certFile), files.certFile);
  return 'completed';
}

/** Renews the agent's client certificate over its session before it expires. */
export class CertificateRenewal {
  private readonly options: CertificateRenewalOptions;
  private lastRequestAt = Number.NEGATIVE_INFINITY;
  private pendingKeyPem: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: CertificateRenewalOptions) {
    this.options = options;
  }

  /** Checks now and then every interval (the session calls `check` again each time it opens). */
  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Asks for a new certificate when the current one is due and no request went out within the interval. */
  async check(): Promise<void> {
    try {
      await this.requestWhenDue();
    } catch (error) {
      this.pendingKeyPem = undefined;
      this.options.logger.error({ err: error }, 'could not ask for a new client certificate');
    }
  }

  private async requestWhenDue(): Promise<void> {
    const { now, checkIntervalMs, files, logger } = this.options;
    if (this.pendingKeyPem || now() - this.lastRequestAt < checkIntervalMs) return;
    let certificatePem: Buffer;
    try {
      certificatePem = readFileSync(files.certFile);
      if (!renewalDue(certificatePem, now())) return;
    } catch (error) {
      logger.error({ err: error, file: files.certFile }, 'cannot read the client certificate to check its expiry');
      return;
    }
    this.lastRequestAt = now();
    const request = await newAgentKeyRequest(this.options.agentId);
    this.pendingKeyPem = request.privateKeyPem;
    if (!this.options.send({ renew_certificate: { csr_pem: request.csrPem } })) {
      this.pendingKeyPem = undefined;
      this.lastRequestAt = Number.NEGATIVE_INFINITY;
      return;
    }
    logger.info(
      { validTo: new X509Certificate(certificatePem).validTo },
      'client certificate has less than a third of its life left; asked the coordinator for a new one',
    );
    this.options.onStage?.('requested');
  }

  handle(renewal: CertificateRenewal__Output): void {
    const { logger, files } = this.options;
    const keyPem = this.pendingKeyPem;
    this.pendingKeyPem = undefined;
    if (renewal.refused || !renewal.certificate_pem) {
      logger.warn({ reason: renewal.refused }, 'the coordinator refused to renew the client certificate');
      return;
    }
    if (!keyPem) {
      logger.warn('a renewed certificate arrived that this agent did not ask for; ignored');
      return;
    }
    const problem = this.problemWith(renewal.certificate_pem, keyPem);
    if (problem) {
      logger.error({ problem }, 'the renewed client certificate was not used');
      return;
    }
    this.options.onStage?.('received');
    writePrivateFile(next(files.keyFile), keyPem);
    writePrivateFile(next(files.certFile), renewal.certificate_pem);
    this.options.onStage?.('written');
    finishInterruptedSwitch(files);
    logger.info(
      { validTo: new X509Certificate(renewal.certificate_pem).validTo },
      'client certificate renewed; reconnecting with it',
    );
    this.options.switchTo({ certPem: Buffer.from(renewal.certificate_pem), keyPem: Buffer.from(keyPem) });
  }

  private problemWith(certificatePem: string, keyPem: string): string | undefined {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(certificatePem);
    } catch {
      return 'not a PEM certificate';
    }
    const ca = new X509Certificate(readFileSync(this.options.files.caFile));
    if (!certificate.checkIssued(ca) || !certificate.verify(ca.publicKey)) return 'not issued by the pinned CA';
    if (!certificate.subject.split('\n').includes(`CN=${this.options.agentId}`)) return 'issued for another agent';
    const ours = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    if (!certificate.publicKey.export({ type: 'spki', format: 'der' }).equals(ours)) return 'not for the key we sent';
    return undefined;
  }
}
