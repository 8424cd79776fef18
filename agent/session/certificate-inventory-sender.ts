import type { Logger } from '../../common/logger.ts';
import { type CertificateInventory, certificateInventoryToProto } from '../../proto/convert.ts';
import type { AgentMessage } from '../../proto/generated/kubeha/v1/AgentMessage.ts';

export interface CertificateInventorySenderOptions {
  read(now: number): Promise<CertificateInventory>;
  send(message: AgentMessage): boolean;
  logger: Logger;
  now: () => number;
  /** Besides every new session (the coordinator keeps inventories in memory only), once per interval. */
  intervalMs: number;
}

/** Sends the node's certificate inventory when a session opens and then every interval. */
export class CertificateInventorySender {
  private readonly options: CertificateInventorySenderOptions;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: CertificateInventorySenderOptions) {
    this.options = options;
  }

  start(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.sendNow(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** False when no session took it (the next session sends it). */
  async sendNow(): Promise<boolean> {
    try {
      const inventory = await this.options.read(this.options.now());
      const sent = this.options.send({ certificate_inventory: certificateInventoryToProto(inventory) });
      if (sent)
        this.options.logger.debug({ certificates: inventory.certificates.length }, 'certificate inventory sent');
      return sent;
    } catch (error) {
      this.options.logger.error({ err: error }, 'cannot read the certificate inventory');
      return false;
    }
  }
}
