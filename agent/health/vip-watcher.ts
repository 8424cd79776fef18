import type { Logger } from '../../common/logger.ts';

/** A stream of the kernel's address events (one text line each), behind an interface so tests script it. */
export interface AddressMonitor {
  /**
   * Starts the stream; `onExit` is called once when it ends (the program died or could not start). `atMs` is when the
   * event happened by this node's clock, when the stream says (later reading must not move it).
   */
  start(onLine: (line: string, atMs?: number) => void, onExit: (reason: string) => void): void;
  stop(): void;
}

/** The VIP appeared on or left this node, at `atMs` of this node's clock. */
export interface VipChange {
  vip: string;
  held: boolean;
  atMs: number;
}

export interface VipWatcherOptions {
  monitor: AddressMonitor;
  /** The cluster's VIP, once the coordinator has told this agent its cluster phase. */
  vip: () => string | undefined;
  /** Every address of this node, to learn the state at start and while the monitor is down. */
  localAddresses: () => string[];
  onChange: (change: VipChange) => void;
  now?: () => number;
  logger?: Logger;
  /** While the monitor is down: how often the addresses are read instead (default 500 ms), and when it restarts. */
  fallbackPollMs?: number;
  restartDelaysMs?: readonly number[];
}

/**
 * `ip -o monitor address` prints "2: eth0    inet 10.0.0.100/32 scope global eth0\ ..." for an added address and the
 * same line after "Deleted " for a removed one (inet6 likewise). Undefined for any other line.
 */
export function parseAddressEvent(line: string): { deleted: boolean; address: string } | undefined {
  const match = /^(Deleted\s+)?\d+:\s+\S+\s+inet6?\s+([0-9A-Fa-f:.]+)\//.exec(line.trim());
  if (!match) return undefined;
  return { deleted: match[1] !== undefined, address: match[2]!.toLowerCase() };
}

/**
 * When this node gained and lost the VIP, by its own clock. The kernel's address events (netlink, through
 * `ip -o monitor address`) give the moment keepalived added or removed the VIP at no cost while nothing moves; a
 * poll fast enough for the drill's 50 ms resolution would read every interface 20 times a second, always. While
 * the monitor is down (no `ip`, killed) the addresses are polled instead, and the monitor is started again.
 */
export class VipWatcher {
  private readonly options: VipWatcherOptions;
  private readonly now: () => number;
  private state: VipChange | undefined;
  private running = false;
  private monitorUp = false;
  private restarts = 0;
  private poll: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(options: VipWatcherOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** The VIP's state on this node and since when; undefined before the cluster phase names a VIP. */
  current(): VipChange | undefined {
    return this.state;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startMonitor();
    this.refresh();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.poll);
    clearTimeout(this.restartTimer);
    this.poll = undefined;
    if (this.monitorUp) this.options.monitor.stop();
    this.monitorUp = false;
  }

  /** Reads the addresses now (at start, when the VIP is first known, and while the monitor is down). */
  refresh(): void {
    const vip = this.options.vip();
    if (!vip) return;
    const held = this.options.localAddresses().some((a) => a.toLowerCase() === vip.toLowerCase());
    this.record(vip, held);
  }

  private record(vip: string, held: boolean, atMs = this.now()): void {
    if (this.state?.vip === vip && this.state.held === held) return;
    this.state = { vip, held, atMs };
    this.options.onChange(this.state);
  }

  private startMonitor(): void {
    this.monitorUp = true;
    this.options.monitor.start(
      (line, atMs) => {
        const event = parseAddressEvent(line);
        const vip = this.options.vip();
        if (!event || !vip || event.address !== vip.toLowerCase()) return;
        this.restarts = 0;
        this.record(vip, !event.deleted, atMs);
      },
      (reason) => {
        this.monitorUp = false;
        if (!this.running) return;
        const delays = this.options.restartDelaysMs ?? [1_000, 5_000, 30_000];
        const delay = delays[Math.min(this.restarts, delays.length - 1)]!;
        this.restarts++;
        this.options.logger?.warn(
          { reason, retryInMs: delay },
          'the address monitor stopped: polling the addresses until it runs again',
        );
        this.refresh();
        this.poll ??= setInterval(() => this.refresh(), this.options.fallbackPollMs ?? 500);
        this.restartTimer = setTimeout(() => {
          if (!this.running) return;
          clearInterval(this.poll);
          this.poll = undefined;
          this.startMonitor();
          // What moved while the monitor was starting is read once more.
          this.refresh();
        }, delay);
      },
    );
  }
}
